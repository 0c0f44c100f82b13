//! Pages tell how many rows match their filter, so a frontend can show "page 1 of 7".

use crate::harness::Daemon;
use serde_json::json;

#[tokio::test]
async fn pages_count_the_rows_matching_their_filter() {
    let d = Daemon::start();
    let admin = d.admin_token();
    crate::stock::product_with_stock(&d, &admin, "default", "PAGE-SKU", 10).await;
    for (id, status) in [("P-1", "PAID"), ("P-2", "PAID"), ("P-3", "PENDING")] {
        let data = d
            .ok(
                &admin,
                r#"mutation($id: String!, $status: OrderStatusInput!) {
                  recordOrder(input: {workspace: "default", externalId: $id, status: $status,
                    customerName: "Buyer One", customerEmail: "buyer@example.com",
                    lines: [{sku: "PAGE-SKU", quantity: 1, unitPrice: "5.00"}]}) { outcome } }"#,
                json!({"id": id, "status": status}),
            )
            .await;
        assert_eq!(data["recordOrder"]["outcome"], "APPLIED", "{data}");
    }
    let data = d
        .ok(
            &admin,
            r#"{ workspace(slug: "default") {
                 paid: orders(first: 1, filter: {status: "paid"}) { totalCount edges { node { externalId } } pageInfo { hasNextPage } }
                 all: orders(first: 1) { totalCount }
                 customers(first: 1) { totalCount }
                 products(first: 1) { totalCount } } }"#,
            json!({}),
        )
        .await;
    let ws = &data["workspace"];
    assert_eq!(ws["paid"]["totalCount"], 2, "{data}");
    assert_eq!(ws["paid"]["edges"].as_array().map(Vec::len), Some(1));
    assert_eq!(ws["paid"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(ws["all"]["totalCount"], 3);
    assert_eq!(ws["customers"]["totalCount"], 1);
    assert!(ws["products"]["totalCount"].as_u64().is_some(), "{data}");
}
