//! `GET /v1/budgets` and `PUT /v1/budgets`: overrides per tenant and instance over the spec
//! file's defaults, what remains, and every bad input refused with its code and the field named.

mod common;

use common::{ADMIN_TOKEN, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn put(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let r = app.client.put(app.url("/v1/budgets")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_apply_over_the_spec_defaults_per_tenant_and_instance() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Acme Corp").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;
    let wes = app.create_wowvision(&acme.id, "Wes").await;

    // Before any override: the guardian's spec file budget (100,000 tokens/day, 60/min, $2/day).
    let (status, v) = app.get_json(&format!("/v1/budgets?tenant_id={}&instance_id={vera}", acme.id)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let limits = &v["instances"][0]["limits"];
    assert_eq!((limits["tokens_per_day"].as_u64(), limits["requests_per_minute"].as_u64()), (Some(100_000), Some(60)), "{v}");
    assert_eq!(v["instances"][0]["remaining"]["tokens_today"], 100_000);
    assert_eq!(v["tenant"]["limits"], json!({}), "no tenant-wide limit until one is set");

    let (status, v) = put(&app, json!({"tenant_id": acme.id, "limits": {"usd_per_day": 5.0, "usd_per_month": 90.0}})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["tenant"]["remaining"]["usd_today"], 5.0);
    let (status, v) = put(&app, json!({"tenant_id": acme.id, "instance_id": vera, "limits": {"tokens_per_day": 20000}})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, v) = app.get_json(&format!("/v1/budgets?tenant_id={}", acme.id)).await;
    let by_id = |id: &str| v["instances"].as_array().unwrap().iter().find(|i| i["instance_id"] == id).unwrap().clone();
    assert_eq!(by_id(&vera)["limits"]["tokens_per_day"], 20_000, "the override wins");
    assert_eq!(by_id(&vera)["limits"]["requests_per_minute"], 60, "the rest comes from the spec");
    assert_eq!(by_id(&wes)["limits"]["tokens_per_day"], 100_000, "another instance keeps the default");
    assert_eq!(v["tenant"]["limits"]["usd_per_day"], 5.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_budgets_are_refused_with_their_code_and_field() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Acme Corp").await;
    let globex = app.create_tenant("Globex").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;
    let cases = [
        (json!({"tenant_id": acme.id, "limits": {"usd_per_day": -3.0}}), StatusCode::BAD_REQUEST, "invalid_request", "usd_per_day"),
        (json!({"tenant_id": acme.id, "limits": {"usd_per_month": 5.0e9}}), StatusCode::BAD_REQUEST, "invalid_request", "usd_per_month"),
        (json!({"tenant_id": acme.id, "limits": {"tokens_per_day": "lots"}}), StatusCode::BAD_REQUEST, "invalid_request", "tokens_per_day"),
        (json!({"tenant_id": acme.id, "limits": {"tokens_per_day": -1}}), StatusCode::BAD_REQUEST, "invalid_request", "-1"),
        (
            json!({"tenant_id": acme.id, "limits": {"requests_per_minute": 0}}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "requests_per_minute",
        ),
        (json!({"tenant_id": acme.id, "limits": {"tokens_a_day": 5}}), StatusCode::BAD_REQUEST, "invalid_request", "tokens_a_day"),
        (json!({"tenant_id": acme.id}), StatusCode::BAD_REQUEST, "invalid_request", "limits"),
        (json!({"tenant_id": globex.id, "instance_id": vera, "limits": {}}), StatusCode::NOT_FOUND, "instance_not_found", "not found"),
        (json!({"tenant_id": uuid::Uuid::new_v4(), "limits": {}}), StatusCode::NOT_FOUND, "tenant_not_found", "not found"),
    ];
    for (body, status, code, names) in cases {
        let (got, v) = put(&app, body.clone()).await;
        assert_eq!((got, v["error"]["code"].as_str()), (status, Some(code)), "{body} -> {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(names), "{body} -> {v}");
    }
    let r = app
        .client
        .put(app.url("/v1/budgets"))
        .bearer_auth(ADMIN_TOKEN)
        .body("{\"tenant_id\":")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (status, v) = app.get_json("/v1/budgets").await;
    assert_eq!((status, v["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("missing_parameter")));
    let (status, _) = app.get_json(&format!("/v1/budgets?tenant_id={}&instance_id={vera}", globex.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's instance is not found");
    // Nothing was stored by the refused requests.
    let (_, v) = app.get_json(&format!("/v1/budgets?tenant_id={}", acme.id)).await;
    assert_eq!(v["tenant"]["limits"], json!({}), "{v}");
    assert_eq!(v["instances"][0]["override"], json!({}), "{v}");
}
