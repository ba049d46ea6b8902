use std::time::Instant;
use waooaw_store::Store;
fn sql(rows: usize, dollar: bool) -> String {
    let mut s = String::from("INSERT INTO events (id, tenant_id, type, source, ts, payload, correlation_id, parent_id, priority, target_instance, status, accepted_at) VALUES ");
    let mut n = 0;
    for i in 0..rows { if i > 0 { s.push(','); } s.push('(');
        for k in 0..11 { n += 1; if k == 10 { s.push_str("'accepted',"); } if dollar { s.push_str(&format!("${n}")) } else { s.push_str("?") } if k < 10 { s.push(','); } }
        s.push_str(")"); }
    s.push_str(" ON CONFLICT (id) DO NOTHING"); s
}
#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b.db");
    let s = waooaw_store::sqlite::SqliteStore::open(p.to_str().unwrap()).await.unwrap();
    s.migrate().await.unwrap();
    for (rows, dollar) in [(500, true), (500, false), (100, true), (20, true), (20, false), (1, true)] {
        let q = sql(rows, dollar);
        let total = 20_000;
        let t = Instant::now();
        let mut tx = s.pool().begin().await.unwrap();
        for _ in 0..total / rows {
            let mut qq = sqlx::query(&q);
            for _ in 0..rows {
                let id = uuid::Uuid::now_v7().to_string();
                qq = qq.bind(id.clone()).bind("0190b3c8-0000-7000-8000-000000000000").bind("file.modified").bind("github:acme").bind("2025-01-01T00:00:00.000000Z").bind("{\"path\":\"docs/x.md\"}").bind(id).bind(None::<String>).bind(2i16).bind(None::<String>).bind("2025-01-01T00:00:00.000000Z");
            }
            qq.execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
        println!("rows={rows} dollar={dollar}: {:.0}/s", total as f64 / t.elapsed().as_secs_f64());
    }
}
