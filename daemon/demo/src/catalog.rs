//! The demo shop's catalog: fictional brands, categories, products with variants, resale grades, prices,
//! unit costs, demand weights and reorder settings.

use crate::util::{Alias, Pricing, Stream, between, bps, mix, pick, stream, uniform};
use crate::{DemoSpec, Shape};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How variants of a category differ.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Axes {
    /// Colour-like options × size-like options ("Black / M").
    Two(&'static [&'static str], &'static [&'static str]),
    /// A single option list ("30 ml", "Rose").
    One(&'static [&'static str]),
    /// Resale grades S/A/B/C; each grade is its own SKU with its own price.
    Grades,
}

/// A product category and the numbers that make it behave like the real thing.
#[derive(Debug)]
pub(crate) struct CategoryDef {
    pub(crate) name: &'static str,
    pub(crate) nouns: &'static [&'static str],
    /// Model shelf-price range (USD-like major units); skewed towards the low end.
    pub(crate) price: (f64, f64),
    /// Unit cost as a share of price, in basis points (25–60 % overall).
    pub(crate) cogs_bps: (i64, i64),
    /// Shipping weight per unit, grams; drives label cost.
    pub(crate) grams: (i64, i64),
    pub(crate) axes: Axes,
    /// TikTok Shop referral fee for the category (5–8 %).
    pub(crate) tiktok_fee_bps: i64,
    /// Relative share of products among new-goods (or resale) categories.
    pub(crate) share: f64,
}

impl CategoryDef {
    pub(crate) fn resale(&self) -> bool {
        matches!(self.axes, Axes::Grades)
    }
}

const COLORS: &[&str] = &["Black", "White", "Sage", "Mocha", "Lilac", "Cherry"];
const SIZES: &[&str] = &["XS", "S", "M", "L", "XL"];
const SHOE_SIZES: &[&str] = &["6", "7", "8", "9", "10", "11"];
const SHADES: &[&str] = &["Rose", "Nude", "Coral", "Berry", "Mocha", "Ivory"];
const VOLUMES: &[&str] = &["30 ml", "50 ml", "100 ml"];
const FINISHES: &[&str] = &["Gold", "Silver", "Rose Gold"];
const MODELS: &[&str] = &["iPhone 15", "iPhone 16", "iPhone 16 Pro", "Galaxy S24"];
const NONE: &[&str] = &[];

pub(crate) const CATEGORIES: &[CategoryDef] = &[
    CategoryDef {
        name: "Skincare",
        nouns: &[
            "Serum",
            "Moisturizer",
            "Gel Cleanser",
            "Toner",
            "Eye Cream",
            "Sunscreen SPF 50",
            "Sheet Mask Set",
        ],
        price: (9.0, 48.0),
        cogs_bps: (2_500, 4_000),
        grams: (80, 300),
        axes: Axes::One(VOLUMES),
        tiktok_fee_bps: 500,
        share: 16.0,
    },
    CategoryDef {
        name: "Makeup",
        nouns: &[
            "Lip Tint",
            "Cushion Foundation",
            "Mascara",
            "Blush Stick",
            "Brow Gel",
            "Setting Spray",
        ],
        price: (8.0, 38.0),
        cogs_bps: (2_500, 4_000),
        grams: (40, 180),
        axes: Axes::One(SHADES),
        tiktok_fee_bps: 500,
        share: 14.0,
    },
    CategoryDef {
        name: "Hair Care",
        nouns: &[
            "Hair Oil",
            "Leave-in Conditioner",
            "Scalp Scrub",
            "Heatless Curler",
            "Claw Clip Set",
        ],
        price: (10.0, 45.0),
        cogs_bps: (2_500, 4_500),
        grams: (60, 400),
        axes: Axes::One(NONE),
        tiktok_fee_bps: 500,
        share: 8.0,
    },
    CategoryDef {
        name: "Apparel",
        nouns: &[
            "Oversized Tee",
            "Ribbed Tank",
            "Wide-Leg Pants",
            "Cropped Hoodie",
            "Slip Dress",
            "Cargo Skirt",
        ],
        price: (15.0, 75.0),
        cogs_bps: (3_000, 5_500),
        grams: (150, 700),
        axes: Axes::Two(COLORS, SIZES),
        tiktok_fee_bps: 600,
        share: 16.0,
    },
    CategoryDef {
        name: "Shoes",
        nouns: &[
            "Platform Sneaker",
            "Chunky Loafer",
            "Ballet Flat",
            "Slide Sandal",
        ],
        price: (35.0, 140.0),
        cogs_bps: (3_500, 6_000),
        grams: (600, 1_400),
        axes: Axes::Two(COLORS, SHOE_SIZES),
        tiktok_fee_bps: 600,
        share: 6.0,
    },
    CategoryDef {
        name: "Bags",
        nouns: &["Shoulder Bag", "Mini Crossbody", "Canvas Tote", "Belt Bag"],
        price: (25.0, 160.0),
        cogs_bps: (3_000, 5_500),
        grams: (300, 1_200),
        axes: Axes::One(COLORS),
        tiktok_fee_bps: 600,
        share: 7.0,
    },
    CategoryDef {
        name: "Jewelry",
        nouns: &[
            "Huggie Earrings",
            "Layered Necklace",
            "Signet Ring",
            "Charm Bracelet",
        ],
        price: (9.0, 65.0),
        cogs_bps: (2_500, 4_500),
        grams: (20, 120),
        axes: Axes::One(FINISHES),
        tiktok_fee_bps: 600,
        share: 9.0,
    },
    CategoryDef {
        name: "Home",
        nouns: &[
            "Scented Candle",
            "Ceramic Mug",
            "Linen Throw",
            "Sunset Lamp",
            "Glass Tumbler",
        ],
        price: (12.0, 70.0),
        cogs_bps: (3_000, 5_500),
        grams: (250, 1_800),
        axes: Axes::One(NONE),
        tiktok_fee_bps: 600,
        share: 9.0,
    },
    CategoryDef {
        name: "Phone Accessories",
        nouns: &[
            "MagSafe Wallet",
            "Clear Case",
            "Ring Light",
            "Charging Stand",
        ],
        price: (9.0, 45.0),
        cogs_bps: (2_500, 4_500),
        grams: (60, 500),
        axes: Axes::One(MODELS),
        tiktok_fee_bps: 800,
        share: 8.0,
    },
    CategoryDef {
        name: "Fitness",
        nouns: &[
            "Resistance Bands",
            "Yoga Mat",
            "Grip Socks",
            "Shaker Bottle",
        ],
        price: (10.0, 60.0),
        cogs_bps: (3_000, 5_000),
        grams: (100, 1_500),
        axes: Axes::One(NONE),
        tiktok_fee_bps: 600,
        share: 7.0,
    },
    CategoryDef {
        name: "Pre-owned Handbags",
        nouns: &[
            "Monogram Tote",
            "Quilted Flap Bag",
            "Saddle Bag",
            "Bucket Bag",
            "Top Handle Bag",
        ],
        price: (300.0, 2_500.0),
        cogs_bps: (3_000, 6_000),
        grams: (500, 1_500),
        axes: Axes::Grades,
        tiktok_fee_bps: 700,
        share: 45.0,
    },
    CategoryDef {
        name: "Pre-owned Wallets",
        nouns: &["Zip Wallet", "Card Holder", "Compact Wallet"],
        price: (90.0, 500.0),
        cogs_bps: (3_000, 6_000),
        grams: (100, 300),
        axes: Axes::Grades,
        tiktok_fee_bps: 700,
        share: 25.0,
    },
    CategoryDef {
        name: "Pre-owned Shoes",
        nouns: &["Leather Pumps", "Designer Sneakers", "Horsebit Loafers"],
        price: (120.0, 800.0),
        cogs_bps: (3_000, 6_000),
        grams: (700, 1_400),
        axes: Axes::Grades,
        tiktok_fee_bps: 700,
        share: 15.0,
    },
    CategoryDef {
        name: "Pre-owned Accessories",
        nouns: &["Silk Scarf", "Logo Belt", "Cat-Eye Sunglasses"],
        price: (80.0, 450.0),
        cogs_bps: (3_000, 6_000),
        grams: (60, 400),
        axes: Axes::Grades,
        tiktok_fee_bps: 700,
        share: 15.0,
    },
];

/// Resale grades and their price relative to an item in S condition. Condition-dependent pricing is what
/// makes "days to sell by condition" a meaningful report.
pub(crate) const GRADES: &[(&str, &str, f64)] = &[
    ("S", "Grade S – unused", 1.00),
    ("A", "Grade A – excellent", 0.82),
    ("B", "Grade B – good", 0.66),
    ("C", "Grade C – visible wear", 0.50),
];

const ADJECTIVES: &[&str] = &[
    "Cloud",
    "Glow",
    "Everyday",
    "Silk",
    "Velvet",
    "Dewy",
    "Airy",
    "Classic",
    "Soft",
    "Bold",
    "Mini",
    "Signature",
    "Vintage",
    "Pure",
    "Golden",
    "Matte",
    "Daily",
    "Dream",
    "Sculpt",
    "Coastal",
];

/// Brand names are invented (two word lists) so demo screenshots never show a real company.
const BRAND_FIRST: &[&str] = &[
    "Aster", "Bramble", "Cobalt", "Dune", "Ember", "Fable", "Gilded", "Harbor", "Indigo",
    "Juniper", "Kestrel", "Linen", "Marlow", "Nectar", "Orchid", "Pebble", "Quill", "Rosette",
    "Sable", "Tidal", "Umber", "Vesper", "Willow", "Yarrow", "Zephyr",
];
const BRAND_SECOND: &[&str] = &[
    "& Co",
    "Studio",
    "Atelier",
    "Goods",
    "Lab",
    "House",
    "Supply",
    "Collective",
    "Botanics",
    "Threads",
];

#[derive(Debug, Clone)]
pub(crate) struct Brand {
    pub(crate) name: String,
    pub(crate) code: String,
    /// Supplier lead time for everything of this brand, days.
    pub(crate) lead_days: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub(crate) title: String,
    pub(crate) brand: u32,
    pub(crate) category: u32,
    pub(crate) first_sku: u32,
    pub(crate) variants: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Sku {
    pub(crate) code: String,
    pub(crate) product: u32,
    pub(crate) variant_title: String,
    /// What an order line shows: product title plus variant.
    pub(crate) line_title: String,
    pub(crate) condition: &'static str,
    pub(crate) barcode: Option<String>,
    pub(crate) price: i64,
    pub(crate) cost: i64,
    pub(crate) grams: i64,
    pub(crate) resale: bool,
    /// Share of order lines expected to pick this SKU (0 for dead stock).
    pub(crate) share: f64,
    pub(crate) lead_days: i64,
    pub(crate) safety_stock: i64,
    pub(crate) reorder_point: i64,
    pub(crate) reorder_qty: i64,
    pub(crate) opening: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    pub(crate) brands: Vec<Brand>,
    pub(crate) products: Vec<Product>,
    pub(crate) skus: Vec<Sku>,
    /// SKU indices from best seller to dead stock.
    pub(crate) by_rank: Vec<u32>,
    /// Draws a SKU by demand share.
    pub(crate) demand: Alias,
    /// Sellable (non-dead) SKUs of each brand, for "more from this brand" add-ons.
    pub(crate) brand_skus: Vec<Vec<u32>>,
}

/// Order lines per order, expected (see the line-count table in `activity`).
pub(crate) const LINES_PER_ORDER: f64 = 1.31;

impl Catalog {
    pub(crate) fn generate(spec: &DemoSpec, shape: &Shape, pricing: &Pricing) -> Self {
        let mut rng = stream(spec.seed, Stream::Catalog);
        let n_skus = spec.skus;
        let brands = make_brands(&mut rng, n_skus);
        // Brand size (how many products it has) is mildly skewed; popularity is skewed separately below.
        let brand_size: Vec<f64> = (0..brands.len())
            .map(|j| 1.0 / ((j + 2) as f64).sqrt())
            .collect();
        let brand_pick = Alias::new(&brand_size);
        let (new_cats, resale_cats): (Vec<usize>, Vec<usize>) = (0..CATEGORIES.len())
            .partition(|c| !CATEGORIES.get(*c).is_some_and(CategoryDef::resale));
        let cat_share = |ids: &[usize]| -> Vec<f64> {
            ids.iter()
                .map(|c| CATEGORIES.get(*c).map_or(0.0, |d| d.share))
                .collect()
        };
        let (new_w, resale_w) = (cat_share(&new_cats), cat_share(&resale_cats));
        // Each brand focuses on a primary and a secondary category of the same kind (resale or new).
        let resale_share = shape.resale_share.clamp(0.0, 1.0);
        let brand_cats: Vec<(usize, usize)> = (0..brands.len())
            .map(|_| {
                let (ids, w) = if rng.random::<f64>() < resale_share {
                    (&resale_cats, &resale_w)
                } else {
                    (&new_cats, &new_w)
                };
                let a = ids.get(pick(&mut rng, w)).copied().unwrap_or(0);
                let b = ids.get(pick(&mut rng, w)).copied().unwrap_or(a);
                (a, b)
            })
            .collect();

        let mut products = Vec::new();
        let mut skus: Vec<Sku> = Vec::with_capacity(n_skus);
        let mut sku_brand: Vec<u32> = Vec::with_capacity(n_skus);
        while skus.len() < n_skus {
            let p = products.len() as u32;
            let brand = brand_pick.sample(&mut rng);
            let (primary, secondary) = brand_cats.get(brand).copied().unwrap_or((0, 0));
            let category = if rng.random::<f64>() < 0.75 {
                primary
            } else {
                secondary
            };
            let Some(def) = CATEGORIES.get(category) else {
                break;
            };
            let Some(b) = brands.get(brand) else { break };
            let noun = def
                .nouns
                .get(rng.random_range(0..def.nouns.len()))
                .copied()
                .unwrap_or("Item");
            let title = if def.resale() {
                format!("{} {} {}", b.name, noun, between(&mut rng, 18, 35))
            } else {
                let adj = ADJECTIVES
                    .get(rng.random_range(0..ADJECTIVES.len()))
                    .copied()
                    .unwrap_or("Classic");
                format!("{} {adj} {noun}", b.name)
            };
            let labels = variant_labels(&mut rng, def.axes);
            let room = n_skus - skus.len();
            let labels: Vec<(String, &'static str, f64)> = labels.into_iter().take(room).collect();
            // Skewed towards cheaper items: most of a catalog is impulse-priced.
            let u = rng.random::<f64>();
            let model_price = def.price.0 + (def.price.1 - def.price.0) * u * u;
            let cogs = between(&mut rng, def.cogs_bps.0, def.cogs_bps.1);
            let grams = between(&mut rng, def.grams.0, def.grams.1);
            let first_sku = skus.len() as u32;
            for (v, (label, condition, factor)) in labels.iter().enumerate() {
                let index = skus.len() as u64;
                let (price, cost) = if def.resale() {
                    let price =
                        pricing.shelf_price(model_price * factor * uniform(&mut rng, 0.95, 1.05));
                    // Resale cost basis is what the seller paid for that particular item.
                    (price, bps(price, between(&mut rng, 3_000, 6_000)))
                } else {
                    let price = pricing.shelf_price(model_price);
                    (price, bps(price, cogs))
                };
                let code = format!("{}-{:05}-{:02}", b.code, p + 1, v + 1);
                skus.push(Sku {
                    line_title: if label.is_empty() {
                        title.clone()
                    } else {
                        format!("{title} – {label}")
                    },
                    variant_title: if label.is_empty() {
                        "Default".to_owned()
                    } else {
                        label.clone()
                    },
                    code,
                    product: p,
                    condition,
                    barcode: (!def.resale()).then(|| ean13(spec.seed, index)),
                    price,
                    cost,
                    grams,
                    resale: def.resale(),
                    share: 0.0,
                    lead_days: 0,
                    safety_stock: 0,
                    reorder_point: 0,
                    reorder_qty: 0,
                    opening: 0,
                });
                sku_brand.push(brand as u32);
            }
            products.push(Product {
                title,
                brand: brand as u32,
                category: category as u32,
                first_sku,
                variants: labels.len() as u32,
            });
        }

        let by_rank = rank_skus(&mut rng, &sku_brand, brands.len());
        assign_demand(
            &mut rng, spec, shape, &brands, &sku_brand, &by_rank, &mut skus,
        );
        let demand = Alias::new(&skus.iter().map(|s| s.share).collect::<Vec<_>>());
        let mut brand_skus = vec![Vec::new(); brands.len()];
        for (i, s) in skus.iter().enumerate() {
            if s.share > 0.0
                && let Some(list) = sku_brand
                    .get(i)
                    .and_then(|b| brand_skus.get_mut(*b as usize))
            {
                list.push(i as u32);
            }
        }
        Self {
            brands,
            products,
            skus,
            by_rank,
            demand,
            brand_skus,
        }
    }
}

fn make_brands(rng: &mut ChaCha8Rng, n_skus: usize) -> Vec<Brand> {
    let mut names: Vec<(usize, usize)> = (0..BRAND_FIRST.len())
        .flat_map(|a| (0..BRAND_SECOND.len()).map(move |b| (a, b)))
        .collect();
    // Fisher–Yates with the seeded stream.
    for i in (1..names.len()).rev() {
        let j = rng.random_range(0..=i);
        names.swap(i, j);
    }
    // ~50 SKUs per brand, 20–200 brands (fewer only when the catalog itself is tiny).
    let count = (n_skus / 50)
        .clamp(20, 200)
        .min(n_skus.max(1))
        .min(names.len());
    names
        .into_iter()
        .take(count)
        .map(|(a, b)| {
            let first = BRAND_FIRST.get(a).copied().unwrap_or("Demo");
            let second = BRAND_SECOND.get(b).copied().unwrap_or("Goods");
            let initial = second
                .chars()
                .find(char::is_ascii_alphabetic)
                .unwrap_or('X');
            let code: String = first
                .chars()
                .take(3)
                .chain(std::iter::once(initial))
                .collect::<String>()
                .to_ascii_uppercase();
            Brand {
                name: format!("{first} {second}"),
                code,
                lead_days: between(rng, 5, 21),
            }
        })
        .collect()
}

/// Variant labels, their condition and price factor.
fn variant_labels(rng: &mut ChaCha8Rng, axes: Axes) -> Vec<(String, &'static str, f64)> {
    match axes {
        Axes::Grades => {
            let count = [1, 1, 1, 2, 2, 3][rng.random_range(0..6_usize)];
            let mut grades: Vec<usize> = (0..GRADES.len()).collect();
            for i in (1..grades.len()).rev() {
                let j = rng.random_range(0..=i);
                grades.swap(i, j);
            }
            let mut chosen: Vec<usize> = grades.into_iter().take(count).collect();
            chosen.sort_unstable();
            chosen
                .into_iter()
                .filter_map(|g| GRADES.get(g))
                .map(|(code, label, factor)| ((*label).to_owned(), *code, *factor))
                .collect()
        }
        Axes::One([]) => {
            vec![(String::new(), "new", 1.0)]
        }
        Axes::One(options) => {
            let count =
                1 + pick(rng, &[40.0, 25.0, 20.0, 15.0]).min(options.len().saturating_sub(1));
            let start = rng.random_range(0..options.len());
            (0..count)
                .filter_map(|k| options.get((start + k) % options.len()))
                .map(|o| ((*o).to_owned(), "new", 1.0))
                .collect()
        }
        Axes::Two(colors, sizes) => {
            let n_colors = 1 + usize::from(rng.random::<f64>() < 0.35);
            let n_sizes = [1, 2, 3, 3][rng.random_range(0..4_usize)].min(sizes.len());
            let c0 = rng.random_range(0..colors.len().max(1));
            let s0 = rng.random_range(0..sizes.len().saturating_sub(n_sizes) + 1);
            let mut out = Vec::new();
            for c in 0..n_colors {
                let color = colors
                    .get((c0 + c) % colors.len().max(1))
                    .copied()
                    .unwrap_or("Black");
                for s in sizes.iter().skip(s0).take(n_sizes) {
                    out.push((format!("{color} / {s}"), "new", 1.0));
                }
            }
            out
        }
    }
}

/// Popularity order: an "exponential race" where SKUs of popular brands tend to win top ranks, so brand
/// revenue is skewed too ("a few brands drive most revenue").
fn rank_skus(rng: &mut ChaCha8Rng, sku_brand: &[u32], n_brands: usize) -> Vec<u32> {
    let brand_pop: Vec<f64> = (0..n_brands)
        .map(|j| 1.0 / ((j + 1) as f64).sqrt())
        .collect();
    let mut keyed: Vec<(f64, u32)> = sku_brand
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let w = brand_pop.get(*b as usize).copied().unwrap_or(1.0);
            (rng.random::<f64>() / w, i as u32)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Zipf–Mandelbrot demand (share ∝ 1 / (rank + 3)): the top 20 % of SKUs take roughly 80 % of units, the
/// best seller a few percent, and the last `dead_stock_share` of ranks never sells. Reorder settings follow
/// from expected daily units: reorder point covers the lead time plus safety stock.
fn assign_demand(
    rng: &mut ChaCha8Rng,
    spec: &DemoSpec,
    shape: &Shape,
    brands: &[Brand],
    sku_brand: &[u32],
    by_rank: &[u32],
    skus: &mut [Sku],
) {
    let n = by_rank.len();
    let dead_from = ((1.0 - shape.dead_stock_share.clamp(0.0, 0.9)) * n as f64).ceil() as usize;
    for (rank, i) in by_rank.iter().enumerate() {
        if let Some(s) = skus.get_mut(*i as usize) {
            let base = if rank >= dead_from && rank > 0 {
                0.0
            } else {
                1.0 / (rank as f64 + 4.0)
            };
            // One-off resale items sell out; their listing draws less demand than a restockable hero product.
            s.share = if s.resale { base * 0.1 } else { base };
        }
    }
    let total: f64 = skus.iter().map(|s| s.share).sum();
    let orders_per_day = spec.orders as f64 / f64::from(spec.days.max(1));
    for (i, s) in skus.iter_mut().enumerate() {
        if total > 0.0 {
            s.share /= total;
        }
        let brand_lead = sku_brand
            .get(i)
            .and_then(|b| brands.get(*b as usize))
            .map_or(10, |b| b.lead_days);
        if s.resale {
            // Resale: one to three pieces on hand, re-sourced when the last one sells.
            s.lead_days = between(rng, 5, 20);
            s.safety_stock = 0;
            s.reorder_point = 0;
            s.reorder_qty = between(rng, 1, 3);
            s.opening = between(rng, 1, 3);
            continue;
        }
        // Units per day, with headroom for growth and the busy months.
        let daily = orders_per_day * LINES_PER_ORDER * 1.2 * s.share * 1.25;
        let lead = brand_lead as f64;
        s.lead_days = brand_lead;
        if s.share == 0.0 {
            // Dead stock: bought once, never sells, never reordered.
            s.safety_stock = between(rng, 0, 3);
            s.reorder_point = s.safety_stock;
            s.reorder_qty = 12;
            s.opening = between(rng, 5, 60);
            continue;
        }
        s.safety_stock = (1.65 * (lead * daily).sqrt() + 2.0 * daily).ceil() as i64;
        s.reorder_point = (daily * lead).ceil() as i64 + s.safety_stock;
        // About a month of stock per purchase order, in case packs of six.
        let qty = (daily * 30.0).ceil().max(6.0) as i64;
        s.reorder_qty = (qty + 5) / 6 * 6;
        s.opening = s.reorder_point + (s.reorder_qty as f64 * uniform(rng, 0.4, 1.0)).ceil() as i64;
    }
}

/// An EAN-13 in the 2xx "restricted circulation" prefix range, which retailers use internally and which can
/// never collide with a real manufacturer's barcode.
fn ean13(seed: u64, index: u64) -> String {
    let body = 200_000_000_000 + ((mix(seed) % 1_000) * 100_000_000 + index) % 100_000_000_000;
    let digits = format!("{body:012}");
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ean13_check_digit() {
        let code = ean13(42, 17);
        assert_eq!(code.len(), 13);
        assert!(code.starts_with('2'));
        let sum: u32 = code
            .bytes()
            .enumerate()
            .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 1 } else { 3 })
            .sum();
        assert_eq!(sum % 10, 0);
    }
}
