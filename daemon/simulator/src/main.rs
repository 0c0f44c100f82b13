//! `creatorflow-sim`: serves simulated TikTok Shop and Shopify shops on loopback, optionally with live changes.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use creatorflow_sim::{
    APP_KEY, APP_SECRET, SHOPIFY_API_VERSION, SHOPIFY_APP_SECRET, SimConfig, Simulator, Tick,
    shopify_shop_domain, shopify_token,
};
use std::io::Write as _;
use std::net::SocketAddr;

#[derive(Parser, Debug)]
#[command(
    name = "creatorflow-sim",
    version,
    about = "Marketplace simulator for CreatorFlow"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:7431")]
    listen: SocketAddr,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 1)]
    shops: u32,
    #[arg(long, default_value_t = 50)]
    skus: u32,
    #[arg(long, default_value_t = 500)]
    orders: u32,
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Shopify shops (`sim-shopify-1`…).
    #[arg(long, default_value_t = 1)]
    shopify_shops: u32,
    /// Where webhooks go, e.g. http://127.0.0.1:7420/webhooks/1.
    #[arg(long)]
    webhook_target: Option<String>,
    /// Where Shopify shops' webhooks go, e.g. http://127.0.0.1:7420/webhooks/2.
    #[arg(long)]
    shopify_webhook_target: Option<String>,
    /// In live mode, one new order (and now and then a cancellation) every this many milliseconds.
    #[arg(long)]
    live_every_ms: Option<u64>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve (the default).
    Serve,
    /// Print what a running simulator holds for one shop, as JSON.
    Truth {
        #[arg(long, default_value = "http://127.0.0.1:7431")]
        base_url: String,
        #[arg(long, default_value = "sim-shop-1")]
        shop: String,
    },
}

fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.write_all(b"\n")?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Truth { base_url, shop }) = &cli.command {
        let url = format!("{base_url}/_sim/truth?shop={shop}");
        let body = reqwest::get(&url).await?.error_for_status()?.text().await?;
        return out(&body);
    }
    let a = cli.serve;
    let config = SimConfig {
        seed: a.seed,
        shops: a.shops,
        skus: a.skus,
        orders: a.orders,
        days: a.days,
        shopify_shops: a.shopify_shops,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config, a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    sim.set_webhook_target(a.webhook_target.clone());
    sim.set_shopify_webhook_target(a.shopify_webhook_target.clone());
    out(&format!("TikTok Shop simulator on {}", sim.base_url))?;
    out(&format!("app_key {APP_KEY}  app_secret {APP_SECRET}"))?;
    for n in 1..=a.shops.max(1) {
        out(&format!(
            "shop sim-shop-{n}: shop_cipher sim-cipher-{n}, access_token sim-token-{n}"
        ))?;
    }
    if a.shopify_shops > 0 {
        out(&format!(
            "Shopify Admin GraphQL on {}/admin/api/{SHOPIFY_API_VERSION}/graphql.json, app_secret {SHOPIFY_APP_SECRET}",
            sim.base_url
        ))?;
    }
    for n in 1..=a.shopify_shops {
        out(&format!(
            "shop sim-shopify-{n}: shop_domain {}, access_token {}",
            shopify_shop_domain(n),
            shopify_token(n)
        ))?;
    }
    if let Some(every) = a.live_every_ms {
        let mut timer = tokio::time::interval(std::time::Duration::from_millis(every.max(10)));
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = timer.tick() => {
                    n += 1;
                    sim.tick(Tick {
                        orders: 1,
                        cancellations: u32::from(n.is_multiple_of(10)),
                        fulfillments: u32::from(n.is_multiple_of(3)),
                        returns: u32::from(n.is_multiple_of(15)),
                        ..Tick::default()
                    })
                    .await;
                }
                _ = tokio::signal::ctrl_c() => break,
            }
        }
    } else {
        tokio::signal::ctrl_c().await?;
    }
    Ok(())
}
