//! Prometheus metrics of one replica (spec §11.2): the registry, every metric with its exact
//! name, labels and buckets, and the request accounting used by the request pipeline. The
//! metrics server that exposes them is `ops::metrics`.

use actix_web::http::Method;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::build_info;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric of the replica. Cloning is cheap (the handles are reference-counted), and each
/// `Application` owns its own registry so replicas in one test process stay apart.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
    pub pool_connections: IntGaugeVec,
    pub pool_max_connections: IntGauge,
    pub pool_acquire_duration: Histogram,
    pub pool_acquire_timeouts: IntCounter,
    pub db_errors: IntCounterVec,
    pub events_created: IntCounterVec,
    pub events_processed: IntCounterVec,
    pub event_processing_lag: Histogram,
    pub events_unreconciled: IntGauge,
    pub watch_subscribers: IntGauge,
    pub status_reports: IntCounterVec,
    pub status_aggregation_duration: HistogramVec,
    pub status_phase_transitions: IntCounterVec,
    pub resources: IntGaugeVec,
    pub http_read_timeouts: IntCounter,
    pub http_protocol_errors: IntCounterVec,
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry.register(Box::new(metric.clone())).expect("metric registered once");
    metric
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry.register(Box::new(metric.clone())).expect("metric registered once");
    metric
}

fn histogram_vec(registry: &Registry, name: &str, help: &str, buckets: &[f64], labels: &[&str]) -> HistogramVec {
    let metric = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets.to_vec()), labels)
        .expect("valid metric definition");
    registry.register(Box::new(metric.clone())).expect("metric registered once");
    metric
}

fn histogram(registry: &Registry, name: &str, help: &str, buckets: &[f64]) -> Histogram {
    let metric = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
        .expect("valid metric definition");
    registry.register(Box::new(metric.clone())).expect("metric registered once");
    metric
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let metric = IntGauge::new(name, help).expect("valid metric definition");
    registry.register(Box::new(metric.clone())).expect("metric registered once");
    metric
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let metric = IntCounter::new(name, help).expect("valid metric definition");
    registry.register(Box::new(metric.clone())).expect("metric registered once");
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let r = &registry;
        let build = gauge_vec(r, "hyperfleet_build_info", "Build identity (always 1).", &["version", "commit"]);
        build.with_label_values(&[build_info::VERSION, build_info::COMMIT]).set(1);
        #[cfg(target_os = "linux")]
        {
            let process = prometheus::process_collector::ProcessCollector::for_self();
            // A second registration fails only if the collector exists already; nothing to do then.
            let _ = registry.register(Box::new(process));
        }
        let resource_labels = ["resource_type", "phase"];
        let metrics = Metrics {
            requests: counter_vec(
                r,
                "api_inbound_request_count",
                "API requests completed.",
                &["method", "path", "code"],
            ),
            request_duration: histogram_vec(
                r,
                "api_inbound_request_duration",
                "API request duration in seconds.",
                &[0.1, 1.0, 10.0, 30.0],
                &["method", "path", "code"],
            ),
            pool_connections: gauge_vec(
                r,
                "hyperfleet_db_pool_connections",
                "Pooled database connections by state.",
                &["state"],
            ),
            pool_max_connections: gauge(r, "hyperfleet_db_pool_max_connections", "Configured pool size."),
            pool_acquire_duration: histogram(
                r,
                "hyperfleet_db_pool_acquire_duration_seconds",
                "Time to get a pooled connection.",
                &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0],
            ),
            pool_acquire_timeouts: counter(
                r,
                "hyperfleet_db_pool_acquire_timeouts_total",
                "Pool acquire timeouts (each answered 503).",
            ),
            db_errors: counter_vec(r, "hyperfleet_db_errors_total", "Database errors seen by requests.", &["kind"]),
            events_created: counter_vec(
                r,
                "hyperfleet_events_created_total",
                "Events committed by this replica.",
                &["source", "event_type"],
            ),
            events_processed: counter_vec(
                r,
                "hyperfleet_events_processed_total",
                "Events reconciled by this replica.",
                &["source", "event_type"],
            ),
            event_processing_lag: histogram(
                r,
                "hyperfleet_event_processing_lag_seconds",
                "Time from an event's commit to its reconciliation.",
                &[0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0],
            ),
            events_unreconciled: gauge(r, "hyperfleet_events_unreconciled", "Unreconciled events at the last sweep."),
            watch_subscribers: gauge(r, "hyperfleet_watch_subscribers", "Open watch streams on this replica."),
            status_reports: counter_vec(
                r,
                "hyperfleet_status_reports_total",
                "Status reports answered 201 (accepted) or 204 (discarded).",
                &["resource_type", "result"],
            ),
            status_aggregation_duration: histogram_vec(
                r,
                "hyperfleet_status_aggregation_duration_seconds",
                "Time to read statuses, aggregate and write the status.",
                &[0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
                &["resource_type"],
            ),
            status_phase_transitions: counter_vec(
                r,
                "hyperfleet_status_phase_transitions_total",
                "Committed phase changes.",
                &["resource_type", "from", "to"],
            ),
            resources: gauge_vec(r, "hyperfleet_resources", "Live resources by phase.", &resource_labels),
            http_read_timeouts: counter(
                r,
                "hyperfleet_http_read_timeouts_total",
                "Connections closed because a request was not received within --http-read-timeout.",
            ),
            http_protocol_errors: counter_vec(
                r,
                "hyperfleet_http_protocol_errors_total",
                "Requests refused for breaking HTTP/1.1 framing.",
                &["kind"],
            ),
            registry,
        };
        for state in ["idle", "in_use"] {
            metrics.pool_connections.with_label_values(&[state]).set(0);
        }
        for kind in ["unavailable", "timeout", "conflict", "other"] {
            metrics.db_errors.with_label_values(&[kind]);
        }
        for resource_type in ["Cluster", "NodePool"] {
            for phase in ["NotReady", "Ready", "Failed"] {
                metrics.resources.with_label_values(&[resource_type, phase]).set(0);
            }
        }
        metrics
    }

    /// Sets all six `hyperfleet_resources` series; combinations absent from `counts` are 0.
    pub fn set_resource_counts(&self, counts: &[(String, String, i64)]) {
        for resource_type in ["Cluster", "NodePool"] {
            for phase in ["NotReady", "Ready", "Failed"] {
                let count = counts.iter().find(|(t, p, _)| t == resource_type && p == phase).map_or(0, |(_, _, c)| *c);
                self.resources.with_label_values(&[resource_type, phase]).set(count);
            }
        }
    }

    /// Counts one completed API request.
    pub fn observe_request(&self, method: &Method, path: &str, code: u16, seconds: f64) {
        let code = code.to_string();
        let labels = [method_label(method), path, code.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.request_duration.with_label_values(&labels).observe(seconds);
    }

    /// The exposition text, with the pool gauges read from `pool` at scrape time.
    pub fn render(&self, pool: Option<&sqlx::PgPool>) -> Vec<u8> {
        if let Some(pool) = pool {
            let idle = pool.num_idle() as i64;
            let size = i64::from(pool.size());
            self.pool_connections.with_label_values(&["idle"]).set(idle);
            self.pool_connections.with_label_values(&["in_use"]).set((size - idle).max(0));
        }
        let mut buffer = Vec::with_capacity(16 * 1024);
        let families = self.registry.gather();
        if let Err(e) = TextEncoder::new().encode(&families, &mut buffer) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        buffer
    }
}

/// The message-broker metrics (issue 12), registered only on replicas that publish, so a replica
/// without `--broker-url` shows no broker series at all (rather than a backlog that reads 0).
#[derive(Clone)]
pub struct BrokerMetrics {
    pub published: IntCounterVec,
    pub publish_errors: IntCounter,
    pub unpublished: IntGauge,
    pub publish_lag: Histogram,
    pub connected: IntGauge,
}

/// The `type` label values of `hyperfleet_broker_published_total` (the CloudEvent types).
pub const BROKER_EVENT_TYPES: [&str; 6] = [
    "com.hyperfleet.cluster.created",
    "com.hyperfleet.cluster.updated",
    "com.hyperfleet.cluster.deleted",
    "com.hyperfleet.nodepool.created",
    "com.hyperfleet.nodepool.updated",
    "com.hyperfleet.nodepool.deleted",
];

impl Metrics {
    /// Registers the broker metrics in this replica's registry; call once.
    pub fn register_broker(&self) -> BrokerMetrics {
        let r = &self.registry;
        let metrics = BrokerMetrics {
            published: counter_vec(
                r,
                "hyperfleet_broker_published_total",
                "Events the broker confirmed, by CloudEvent type.",
                &["type"],
            ),
            publish_errors: counter(
                r,
                "hyperfleet_broker_publish_errors_total",
                "Publish attempts that failed: returned as unroutable, nacked, or lost with the connection.",
            ),
            unpublished: gauge(
                r,
                "hyperfleet_broker_unpublished_events",
                "Committed events the broker has not confirmed yet (the backlog in PostgreSQL).",
            ),
            publish_lag: histogram(
                r,
                "hyperfleet_broker_publish_lag_seconds",
                "Time from an event's commit to the broker's confirm.",
                &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0],
            ),
            connected: gauge(r, "hyperfleet_broker_connected", "1 while connected to the message broker, else 0."),
        };
        for event_type in BROKER_EVENT_TYPES {
            metrics.published.with_label_values(&[event_type]);
        }
        metrics
    }
}

/// The `method` label: upper-case, or `OTHER` for anything outside the usual verbs.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The `path` label: the route template with every `{variable}` replaced by `-`.
pub fn path_label(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut in_var = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_var = true;
                out.push('-');
            }
            '}' => in_var = false,
            _ if !in_var => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_labels_hide_every_variable() {
        assert_eq!(
            path_label("/api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}/statuses"),
            "/api/hyperfleet/v1/clusters/-/nodepools/-/statuses"
        );
        assert_eq!(path_label("/api/hyperfleet/v1/clusters"), "/api/hyperfleet/v1/clusters");
    }

    #[test]
    fn unusual_methods_are_other() {
        assert_eq!(method_label(&Method::from_bytes(b"PROPFIND").unwrap()), "OTHER");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
    }

    #[test]
    fn exposition_uses_the_contract_names() {
        let metrics = Metrics::new();
        metrics.observe_request(&Method::GET, "/api/hyperfleet/v1/clusters", 200, 0.01);
        let text = String::from_utf8(metrics.render(None)).unwrap();
        assert!(text
            .contains("api_inbound_request_count{code=\"200\",method=\"GET\",path=\"/api/hyperfleet/v1/clusters\"} 1"));
        assert!(!text.contains("api_inbound_request_count_total"));
        assert!(text.contains("api_inbound_request_duration_bucket{code=\"200\",method=\"GET\",path=\"/api/hyperfleet/v1/clusters\",le=\"0.1\"} 1"));
        assert!(text.contains("hyperfleet_resources{phase=\"Failed\",resource_type=\"NodePool\"} 0"));
        assert!(text.contains("hyperfleet_build_info{"));
    }
}
