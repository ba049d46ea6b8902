//! Logs and traces: one `tracing` subscriber with the log format (text or JSON lines on stderr,
//! filtered by `WAOOAW_LOG`) and, when an OTLP endpoint is configured, an OpenTelemetry layer
//! whose spans go to the collector over OTLP/HTTP (protobuf). Trace ids follow correlation ids
//! (see `waooaw_runtime::trace`).

use anyhow::{Context, Result};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Flushes and stops the exporter when dropped (at the end of `serve`), so the last spans leave.
pub struct Traces(Option<SdkTracerProvider>);

impl Drop for Traces {
    fn drop(&mut self) {
        if let Some(p) = self.0.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("traces: the exporter did not shut down cleanly: {e}");
        }
    }
}

pub fn init(json: bool, otlp_endpoint: Option<&str>) -> Result<Traces> {
    let filter = EnvFilter::try_from_env("WAOOAW_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if json { fmt.json().flatten_event(true).boxed() } else { fmt.boxed() };
    let provider = match otlp_endpoint {
        Some(endpoint) => Some(provider(endpoint)?),
        None => None,
    };
    // Spans at info and above: every span of the event path is one; debug ones stay free.
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("waooaw")).with_filter(tracing_subscriber::filter::LevelFilter::INFO));
    // `WAOOAW_LOG` filters the log lines only, not the spans the trace needs.
    let registry = tracing_subscriber::registry().with(fmt.with_filter(filter)).with(otel);
    if registry.try_init().is_err() {
        // Already set (tests run several commands in one process): keep the first.
        return Ok(Traces(provider));
    }
    if let Some(p) = &provider {
        opentelemetry::global::set_tracer_provider(p.clone());
        waooaw_runtime::trace::enable();
        tracing::info!(endpoint = otlp_endpoint.unwrap_or_default(), "exporting traces over OTLP/HTTP");
    }
    Ok(Traces(provider))
}

fn provider(endpoint: &str) -> Result<SdkTracerProvider> {
    let url = reqwest::Url::parse(endpoint).with_context(|| format!("OTLP endpoint `{endpoint}` is not a URL"))?;
    anyhow::ensure!(matches!(url.scheme(), "http" | "https"), "OTLP endpoint `{endpoint}` must be http or https (OTLP/HTTP)");
    let traces = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces)
        .build()
        .with_context(|| format!("cannot build the OTLP exporter for {endpoint}"))?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("waooaw").build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}
