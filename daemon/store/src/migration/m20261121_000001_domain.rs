//! The initial domain schema.
//!
//! Conventions kept on every table: `id` is a 64-bit auto-increment key, money is an integer amount of minor
//! units (`*_minor`) next to the row's own `currency`, timestamps carry a time zone, and enum-like values are
//! plain strings so new variants never need a schema change.
//!
//! Foreign keys from facts imported through a connection (orders, shipments, ad campaigns, …) use NO ACTION:
//! dropping a connection must be an explicit decision, not a silent loss of history. Deleting a workspace
//! still removes everything because every row also cascades from `workspaces`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, blob_null, boolean, date, integer_null, string,
    string_len, string_null, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in schema() {
            manager.create_table(table.create).await?;
            for index in table.indexes {
                manager.create_index(index).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in schema().into_iter().rev() {
            manager
                .drop_table(Table::drop().table(table.name).if_exists().take())
                .await?;
        }
        Ok(())
    }

    /// SQLite DDL is transactional too, so a failed upgrade never leaves half a schema behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

struct TableDef {
    name: &'static str,
    create: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
}

/// Small builder so that each table below reads like its specification.
struct Tb {
    name: &'static str,
    stmt: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
}

impl Tb {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            stmt: Table::create().table(name).take(),
            indexes: Vec::new(),
        }
    }

    /// `id` primary key plus the owning workspace.
    fn scoped(name: &'static str) -> Self {
        Self::new(name)
            .col(big_pk_auto("id"))
            .col(big_integer("workspace_id"))
            .fk("workspace_id", "workspaces", ForeignKeyAction::Cascade)
    }

    fn col(mut self, def: ColumnDef) -> Self {
        self.stmt.col(def);
        self
    }

    fn fk(mut self, col: &'static str, to: &'static str, on_delete: ForeignKeyAction) -> Self {
        self.stmt.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{}_{col}", self.name))
                .from(self.name, col)
                .to(to, "id")
                .on_delete(on_delete)
                .on_update(ForeignKeyAction::NoAction),
        );
        self
    }

    fn index(self, cols: &[&'static str]) -> Self {
        self.add_index("idx", cols, false)
    }

    fn unique(self, cols: &[&'static str]) -> Self {
        self.add_index("uq", cols, true)
    }

    fn add_index(mut self, prefix: &str, cols: &[&'static str], unique: bool) -> Self {
        let mut index = Index::create();
        index
            .name(format!("{prefix}_{}_{}", self.name, cols.join("_")))
            .table(self.name);
        for col in cols {
            index.col(*col);
        }
        if unique {
            index.unique();
        }
        self.indexes.push(index.take());
        self
    }

    fn done(self) -> TableDef {
        TableDef {
            name: self.name,
            create: self.stmt,
            indexes: self.indexes,
        }
    }
}

fn currency() -> ColumnDef {
    string_len("currency", 3)
}

fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

/// Tables in creation order; `down` drops them in reverse.
fn schema() -> Vec<TableDef> {
    use ForeignKeyAction::{Cascade, NoAction, SetNull};

    vec![
        Tb::new("workspaces")
            .col(big_pk_auto("id"))
            .col(string("slug"))
            .col(string("name"))
            .col(string("timezone"))
            .col(currency())
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .unique(&["slug"])
            .done(),
        Tb::new("api_tokens")
            .col(big_pk_auto("id"))
            .col(string("name"))
            .col(string("role"))
            .col(boolean("is_global"))
            .col(string("token_hash"))
            .col(string("token_prefix"))
            .col(ts("created_at"))
            .col(ts_null("last_used_at"))
            .col(ts_null("revoked_at"))
            .unique(&["token_hash"])
            .done(),
        {
            let mut tb = Tb::new("api_token_workspaces")
                .col(big_integer("token_id"))
                .col(big_integer("workspace_id"))
                .fk("token_id", "api_tokens", Cascade)
                .fk("workspace_id", "workspaces", Cascade)
                .index(&["workspace_id"]);
            tb.stmt.primary_key(
                Index::create()
                    .name("pk_api_token_workspaces")
                    .col("token_id")
                    .col("workspace_id"),
            );
            tb.done()
        },
        Tb::scoped("connections")
            .col(string("kind"))
            .col(string("name"))
            .col(string_null("external_shop_id"))
            .col(string("status"))
            .col(blob_null("credentials_ciphertext"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .unique(&["workspace_id", "kind", "external_shop_id"])
            .done(),
        Tb::scoped("brands")
            .col(string("name"))
            .unique(&["workspace_id", "name"])
            .done(),
        Tb::scoped("products")
            .col(big_integer_null("connection_id"))
            .col(string_null("external_id"))
            .col(string("title"))
            .col(big_integer_null("brand_id"))
            .col(string_null("category"))
            .col(string("status"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("connection_id", "connections", SetNull)
            .fk("brand_id", "brands", SetNull)
            .unique(&["connection_id", "external_id"])
            // Serves keyset pagination of a workspace's catalog by id.
            .index(&["workspace_id", "id"])
            .index(&["brand_id"])
            .done(),
        Tb::scoped("variants")
            .col(big_integer("product_id"))
            .col(big_integer_null("connection_id"))
            .col(string_null("external_id"))
            .col(string("sku"))
            .col(string("title"))
            .col(string_null("condition"))
            .col(string_null("barcode"))
            .col(currency())
            .col(big_integer("price_minor"))
            .col(big_integer_null("unit_cost_minor"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("product_id", "products", Cascade)
            .fk("connection_id", "connections", SetNull)
            .unique(&["workspace_id", "sku"])
            .unique(&["connection_id", "external_id"])
            .index(&["product_id"])
            .done(),
        Tb::scoped("locations")
            .col(big_integer_null("connection_id"))
            .col(string_null("external_id"))
            .col(string("name"))
            .fk("connection_id", "connections", SetNull)
            .unique(&["workspace_id", "name"])
            .unique(&["connection_id", "external_id"])
            .done(),
        Tb::scoped("inventory_levels")
            .col(big_integer("variant_id"))
            .col(big_integer("location_id"))
            .col(big_integer("on_hand"))
            .col(big_integer("committed"))
            .col(big_integer("incoming"))
            .col(big_integer("safety_stock"))
            .col(big_integer_null("reorder_point"))
            .col(integer_null("lead_time_days"))
            .col(big_integer("version"))
            .col(ts("updated_at"))
            .fk("variant_id", "variants", Cascade)
            .fk("location_id", "locations", Cascade)
            .unique(&["variant_id", "location_id"])
            .index(&["location_id"])
            .index(&["workspace_id"])
            .done(),
        Tb::scoped("inventory_ledger")
            .col(big_integer("variant_id"))
            .col(big_integer("location_id"))
            .col(big_integer("delta_on_hand"))
            .col(big_integer("delta_committed"))
            .col(big_integer("delta_incoming"))
            .col(string("reason"))
            .col(string("source"))
            .col(string("source_event_id"))
            .col(string("actor"))
            .col(big_integer("on_hand_after"))
            .col(big_integer("committed_after"))
            .col(big_integer("incoming_after"))
            .col(ts("occurred_at"))
            .col(ts("recorded_at"))
            .fk("variant_id", "variants", Cascade)
            .fk("location_id", "locations", Cascade)
            .index(&["variant_id", "location_id", "id"])
            .index(&["location_id"])
            .index(&["workspace_id"])
            .done(),
        Tb::scoped("customers")
            .col(string_null("email_hash"))
            .col(string_null("display_name"))
            .col(ts_null("first_order_at"))
            .col(ts_null("last_order_at"))
            .col(big_integer("orders_count"))
            .col(big_integer("total_spent_minor"))
            .col(currency())
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .index(&["workspace_id", "email_hash"])
            // Serves the "best customers first" keyset listing.
            .index(&["workspace_id", "total_spent_minor", "id"])
            .done(),
        Tb::scoped("customer_identities")
            .col(big_integer("customer_id"))
            .col(big_integer("connection_id"))
            .col(string("external_id"))
            .fk("customer_id", "customers", Cascade)
            .fk("connection_id", "connections", NoAction)
            .unique(&["connection_id", "external_id"])
            .index(&["customer_id"])
            .index(&["workspace_id"])
            .done(),
        Tb::scoped("orders")
            .col(big_integer("connection_id"))
            .col(string("external_id"))
            .col(big_integer_null("customer_id"))
            .col(string("status"))
            .col(currency())
            .col(big_integer("subtotal_minor"))
            .col(big_integer("discount_minor"))
            .col(big_integer("shipping_charged_minor"))
            .col(big_integer("tax_minor"))
            .col(big_integer("total_minor"))
            .col(big_integer("fees_minor"))
            .col(big_integer("refunded_minor"))
            .col(ts("placed_at"))
            .col(ts_null("paid_at"))
            .col(ts_null("fulfilled_at"))
            .col(ts_null("delivered_at"))
            .col(ts_null("cancelled_at"))
            .col(ts_null("source_updated_at"))
            .col(string("stock_state"))
            .col(big_integer_null("location_id"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("connection_id", "connections", NoAction)
            .fk("customer_id", "customers", SetNull)
            .fk("location_id", "locations", SetNull)
            .unique(&["connection_id", "external_id"])
            .index(&["workspace_id", "placed_at"])
            .index(&["customer_id"])
            .done(),
        Tb::scoped("order_lines")
            .col(big_integer("order_id"))
            .col(big_integer_null("variant_id"))
            .col(string_null("external_id"))
            .col(string("sku"))
            .col(string("title"))
            .col(big_integer("quantity"))
            .col(big_integer("unit_price_minor"))
            .col(big_integer("discount_minor"))
            .col(big_integer_null("unit_cost_minor"))
            .col(currency())
            .fk("order_id", "orders", Cascade)
            .fk("variant_id", "variants", SetNull)
            .index(&["order_id"])
            .index(&["variant_id"])
            .index(&["workspace_id", "sku"])
            .done(),
        Tb::scoped("shipments")
            .col(big_integer("order_id"))
            .col(big_integer("connection_id"))
            .col(string_null("external_id"))
            .col(string_null("carrier"))
            .col(string_null("tracking_number"))
            .col(string("status"))
            .col(big_integer("cost_minor"))
            .col(currency())
            .col(ts_null("shipped_at"))
            .col(ts_null("delivered_at"))
            .col(ts("created_at"))
            .fk("order_id", "orders", Cascade)
            .fk("connection_id", "connections", NoAction)
            .unique(&["connection_id", "external_id"])
            .index(&["order_id"])
            .index(&["workspace_id"])
            .done(),
        Tb::scoped("refunds")
            .col(big_integer("order_id"))
            .col(big_integer("connection_id"))
            .col(string_null("external_id"))
            .col(string("kind"))
            .col(string("status"))
            .col(string_null("reason"))
            .col(big_integer("amount_minor"))
            .col(currency())
            .col(ts("created_at"))
            .fk("order_id", "orders", Cascade)
            .fk("connection_id", "connections", NoAction)
            .unique(&["connection_id", "external_id"])
            .index(&["order_id"])
            .index(&["workspace_id"])
            .done(),
        Tb::scoped("refund_lines")
            .col(big_integer("refund_id"))
            .col(big_integer("order_line_id"))
            .col(big_integer("quantity"))
            .col(boolean("sellable"))
            .fk("refund_id", "refunds", Cascade)
            // A refund line means nothing without the line it returns.
            .fk("order_line_id", "order_lines", Cascade)
            .index(&["refund_id"])
            .index(&["order_line_id"])
            .index(&["workspace_id"])
            .done(),
        Tb::scoped("ad_campaigns")
            .col(big_integer("connection_id"))
            .col(string("external_id"))
            .col(string("name"))
            .col(string("status"))
            .fk("connection_id", "connections", NoAction)
            .unique(&["connection_id", "external_id"])
            .index(&["workspace_id"])
            .done(),
        Tb::scoped("ad_spend_daily")
            .col(big_integer("campaign_id"))
            .col(date("day"))
            .col(big_integer("spend_minor"))
            .col(currency())
            .col(big_integer("impressions"))
            .col(big_integer("clicks"))
            .col(big_integer("conversions"))
            .col(big_integer("attributed_revenue_minor"))
            .fk("campaign_id", "ad_campaigns", Cascade)
            .unique(&["campaign_id", "day"])
            .index(&["workspace_id", "day"])
            .done(),
        Tb::scoped("content_items")
            .col(big_integer("connection_id"))
            .col(string("external_id"))
            .col(string("kind"))
            .col(string_null("title"))
            .col(string_null("url"))
            .col(ts_null("published_at"))
            .fk("connection_id", "connections", NoAction)
            .unique(&["connection_id", "external_id"])
            .index(&["workspace_id"])
            .done(),
        Tb::scoped("content_metrics_daily")
            .col(big_integer("content_item_id"))
            .col(date("day"))
            .col(big_integer("views"))
            .col(big_integer("likes"))
            .col(big_integer("comments"))
            .col(big_integer("shares"))
            .col(big_integer("product_clicks"))
            .fk("content_item_id", "content_items", Cascade)
            .unique(&["content_item_id", "day"])
            .index(&["workspace_id", "day"])
            .done(),
        Tb::scoped("funnel_events")
            .col(big_integer_null("connection_id"))
            .col(string_null("external_id"))
            .col(string("stage"))
            .col(string_null("session_key"))
            .col(big_integer_null("content_item_id"))
            .col(big_integer_null("variant_id"))
            .col(ts("occurred_at"))
            .fk("connection_id", "connections", SetNull)
            .fk("content_item_id", "content_items", SetNull)
            .fk("variant_id", "variants", SetNull)
            .index(&["workspace_id", "occurred_at"])
            .index(&["connection_id"])
            .index(&["content_item_id"])
            .index(&["variant_id"])
            .done(),
        Tb::scoped("sync_cursors")
            .col(big_integer("connection_id"))
            .col(string("entity"))
            .col(text("cursor"))
            .col(ts("updated_at"))
            .fk("connection_id", "connections", Cascade)
            .unique(&["connection_id", "entity"])
            .index(&["workspace_id"])
            .done(),
        Tb::scoped("sync_runs")
            .col(big_integer("connection_id"))
            .col(string("entity"))
            .col(string("status"))
            .col(ts("started_at"))
            .col(ts_null("finished_at"))
            .col(big_integer("records"))
            .col(text_null("error"))
            .fk("connection_id", "connections", Cascade)
            .index(&["connection_id", "started_at"])
            .index(&["workspace_id"])
            .done(),
        Tb::scoped("alert_rules")
            .col(string("name"))
            .col(string("kind"))
            .col(string_null("metric"))
            .col(text("params"))
            .col(boolean("enabled"))
            .col(ts("created_at"))
            .index(&["workspace_id"])
            .done(),
        Tb::scoped("alert_events")
            .col(big_integer_null("rule_id"))
            .col(string("kind"))
            .col(string("severity"))
            .col(string("subject"))
            .col(text("message"))
            .col(text("data"))
            .col(ts("raised_at"))
            .col(ts_null("resolved_at"))
            .fk("rule_id", "alert_rules", SetNull)
            .index(&["workspace_id", "raised_at"])
            .index(&["rule_id"])
            .done(),
        Tb::new("plugins")
            .col(string("id").primary_key().take())
            .col(string("kind"))
            .col(string("version"))
            .col(string("api_version"))
            .col(string("sha256"))
            .col(text("manifest"))
            .col(boolean("enabled"))
            .col(ts("installed_at"))
            .col(ts("updated_at"))
            .done(),
        Tb::new("plugin_grants")
            .col(big_pk_auto("id"))
            .col(string("plugin_id"))
            .col(string("capability"))
            .col(string("value"))
            .col(ts("granted_at"))
            .fk("plugin_id", "plugins", Cascade)
            .unique(&["plugin_id", "capability", "value"])
            .done(),
        Tb::scoped("ingest_events")
            .col(string("source"))
            .col(string("source_event_id"))
            .col(string("kind"))
            .col(ts("received_at"))
            .unique(&["workspace_id", "source", "source_event_id"])
            .done(),
        // Per-workspace behaviour of the write path; a missing row means the defaults.
        Tb::new("workspace_settings")
            .col(big_integer("workspace_id").primary_key().take())
            .col(string("reserve_on"))
            .col(boolean("forbid_negative_manual"))
            .col(string_null("restock_conditions"))
            .col(big_integer("velocity_spike_factor"))
            .col(big_integer("velocity_min_units"))
            .col(ts("updated_at"))
            .fk("workspace_id", "workspaces", Cascade)
            .done(),
        // Rollups maintained by the write path so dashboards read thousands of rows, not millions.
        Tb::scoped("sales_hourly")
            .col(ts("hour"))
            .col(big_integer("connection_id"))
            .col(string("sku"))
            .col(big_integer_null("variant_id"))
            .col(currency())
            .col(big_integer("units"))
            .col(big_integer("gross_minor"))
            .col(big_integer("discount_minor"))
            .col(big_integer("cogs_minor"))
            .col(big_integer("returned_units"))
            .fk("connection_id", "connections", Cascade)
            .unique(&["workspace_id", "hour", "connection_id", "sku", "currency"])
            .index(&["workspace_id", "sku", "hour"])
            .done(),
        Tb::scoped("orders_hourly")
            .col(ts("hour"))
            .col(big_integer("connection_id"))
            .col(currency())
            .col(big_integer("orders"))
            .col(big_integer("cancelled_orders"))
            .col(big_integer("subtotal_minor"))
            .col(big_integer("discount_minor"))
            .col(big_integer("shipping_charged_minor"))
            .col(big_integer("tax_minor"))
            .col(big_integer("total_minor"))
            .col(big_integer("fees_minor"))
            .col(big_integer("refunded_minor"))
            .fk("connection_id", "connections", Cascade)
            .unique(&["workspace_id", "hour", "connection_id", "currency"])
            .done(),
    ]
}

#[cfg(test)]
mod tests {
    use super::schema;
    use crate::entity::*;
    use sea_orm::{DbBackend, EntityTrait, Schema};
    use sea_orm_migration::prelude::{ColumnDef, TableCreateStatement};
    use std::collections::{HashMap, HashSet};

    /// PostgreSQL keeps index and constraint names in one namespace per schema and truncates at 63 bytes.
    #[test]
    fn object_names_are_unique_and_short() {
        let mut seen = HashSet::new();
        for table in schema() {
            assert!(seen.insert(table.name.to_owned()), "{}", table.name);
            for index in &table.indexes {
                let name = index
                    .get_index_spec()
                    .get_name()
                    .expect("every index is named")
                    .to_owned();
                assert!(name.len() <= 63, "{name}");
                assert!(seen.insert(name.clone()), "{name}");
            }
        }
    }

    /// What must agree between an entity and its table: name, type, nullability and key role of each column.
    fn shape(table: &TableCreateStatement) -> Vec<String> {
        let describe = |c: &ColumnDef| {
            let spec = c.get_column_spec();
            format!(
                "{} {:?} nullable={} pk={} auto={}",
                c.get_column_name(),
                c.get_column_type(),
                spec.nullable != Some(false),
                spec.primary_key,
                spec.auto_increment
            )
        };
        table.get_columns().iter().map(describe).collect()
    }

    fn from_entity<E: EntityTrait>(entity: E) -> (String, Vec<String>) {
        let name = entity.table_name().to_owned();
        let stmt = Schema::new(DbBackend::Sqlite).create_table_from_entity(entity);
        (name, shape(&stmt))
    }

    /// Every table as all migrations together leave it: this one's tables, the columns later migrations
    /// add, and the tables they create. Column order does not matter, so each table's columns are sorted.
    #[test]
    fn entities_match_the_migration() {
        use super::super::m20261206_000001_sync as sync;
        use super::super::m20261207_000001_analytics as analytics;
        let mut migrated: HashMap<&str, Vec<String>> = schema()
            .iter()
            .map(|t| (t.name, shape(&t.create)))
            .collect();
        for (table, column) in sync::added_columns() {
            let mut one = sea_orm_migration::prelude::Table::create();
            one.table(table).col(column);
            migrated.entry(table).or_default().extend(shape(&one));
        }
        for (table, column) in analytics::added_columns() {
            let mut one = sea_orm_migration::prelude::Table::create();
            one.table(table).col(column);
            migrated.entry(table).or_default().extend(shape(&one));
        }
        migrated.insert("webhook_deliveries", shape(&sync::webhook_deliveries()));
        migrated.insert("maintenance_tasks", shape(&analytics::maintenance_tasks()));
        migrated.insert(
            "forecasts",
            shape(&super::super::m20261208_000001_forecasts::forecasts()),
        );
        for columns in migrated.values_mut() {
            columns.sort();
        }
        let entities = [
            from_entity(workspace::Entity),
            from_entity(api_token::Entity),
            from_entity(api_token_workspace::Entity),
            from_entity(connection::Entity),
            from_entity(brand::Entity),
            from_entity(product::Entity),
            from_entity(variant::Entity),
            from_entity(location::Entity),
            from_entity(inventory_level::Entity),
            from_entity(inventory_ledger::Entity),
            from_entity(customer::Entity),
            from_entity(customer_identity::Entity),
            from_entity(order::Entity),
            from_entity(order_line::Entity),
            from_entity(shipment::Entity),
            from_entity(refund::Entity),
            from_entity(refund_line::Entity),
            from_entity(ad_campaign::Entity),
            from_entity(ad_spend_daily::Entity),
            from_entity(content_item::Entity),
            from_entity(content_metrics_daily::Entity),
            from_entity(funnel_event::Entity),
            from_entity(sync_cursor::Entity),
            from_entity(sync_run::Entity),
            from_entity(alert_rule::Entity),
            from_entity(alert_event::Entity),
            from_entity(plugin::Entity),
            from_entity(plugin_grant::Entity),
            from_entity(ingest_event::Entity),
            from_entity(workspace_setting::Entity),
            from_entity(sales_hourly::Entity),
            from_entity(orders_hourly::Entity),
            from_entity(webhook_delivery::Entity),
            from_entity(maintenance_task::Entity),
            from_entity(forecast::Entity),
        ];
        assert_eq!(entities.len(), migrated.len(), "one entity per table");
        for (name, mut columns) in entities {
            columns.sort();
            let table = migrated
                .get(name.as_str())
                .unwrap_or_else(|| panic!("no table {name}"));
            assert_eq!(&columns, table, "{name}");
        }
    }
}
