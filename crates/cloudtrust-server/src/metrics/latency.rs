//! The request-latency histogram, `cloudtrust_http_request_duration_seconds`, kept by
//! cloudtrust rather than by the Prometheus recorder. The recorder's histograms keep every
//! sample in a growing list until a scrape drains it: a node nobody scrapes grew by some 20
//! bytes for every request it answered, and each sample cost an epoch pin and, now and then,
//! an allocation. Here a series is a fixed row of counters, one per bucket: timing
//! a request is two atomic adds, and the memory is bounded by the series, which are bounded by
//! the routes, methods and status classes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::REQUEST_DURATION as NAME;

/// Upper bounds of the buckets, in seconds: fine below 10 ms, where the token endpoint answers.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The `method` label: the methods the routes answer, any other as `other`, so that a
/// client's made-up methods cannot multiply the series.
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other",
];
/// The `status` label.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// One series: how many requests fell in each bucket (the last one: above every bound), and
/// the sum of their durations.
#[derive(Default)]
struct Series {
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Series {
    fn record(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        // The first bucket whose bound is not below the duration (Prometheus's `le`).
        let bucket = BUCKETS.partition_point(|bound| *bound < seconds);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// A series' labels: indexes into [`METHODS`] and [`CLASSES`], and the route's template.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Labels {
    route: Box<str>,
    method: usize,
    class: usize,
}

/// Every series of the process, for the scrape. Taken only when a thread first times a
/// request of a given route, method and status class, and at each scrape.
static ALL: Mutex<Vec<(Labels, Arc<Series>)>> = Mutex::new(Vec::new());

/// One route's series, by method and status class, as a thread has used them.
type RouteSeries = [Option<Arc<Series>>; METHODS.len() * CLASSES.len()];

thread_local! {
    /// The series this thread has used, by route template: timing a request is then a hash
    /// lookup and two atomic adds, without a lock. Its keys are the server's own route
    /// templates, never a client's text, so a fast hash that does not resist chosen
    /// collisions is enough.
    static USED: RefCell<HashMap<Box<str>, RouteSeries, foldhash::fast::RandomState>> =
        RefCell::new(HashMap::default());
}

/// A request of `method` to `route` (its template, or `unmatched`) answered with `status`
/// after `elapsed`.
pub fn record(method: &str, route: &str, status: u16, elapsed: Duration) {
    let method = METHODS
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len() - 1);
    let class = match status {
        100..=199 => 0,
        200..=299 => 1,
        300..=399 => 2,
        400..=499 => 3,
        _ => 4,
    };
    let record = |series: &mut RouteSeries| {
        series[method * CLASSES.len() + class]
            .get_or_insert_with(|| {
                shared(Labels {
                    route: route.into(),
                    method,
                    class,
                })
            })
            .record(elapsed);
    };
    USED.with_borrow_mut(|routes| match routes.get_mut(route) {
        Some(series) => record(series),
        None => {
            let mut series: RouteSeries = std::array::from_fn(|_| None);
            record(&mut series);
            routes.insert(route.into(), series);
        }
    });
}

/// The process's series of `labels`, made on first use.
fn shared(labels: Labels) -> Arc<Series> {
    let mut all = ALL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, series)) = all.iter().find(|(l, _)| *l == labels) {
        return Arc::clone(series);
    }
    let series = Arc::new(Series::default());
    all.push((labels, Arc::clone(&series)));
    series
}

/// Appends the histogram to `out` in Prometheus's text format, series by route, method and
/// status class. Nothing when no request has been timed.
pub fn render(out: &mut String) {
    let mut all: Vec<(Labels, Arc<Series>)> =
        ALL.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if all.is_empty() {
        return;
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    // `write!` to a String cannot fail.
    let _ = writeln!(out, "# HELP {NAME} Request latency per route");
    let _ = writeln!(out, "# TYPE {NAME} histogram");
    for (labels, series) in &all {
        let common = format!(
            "method=\"{}\",route=\"{}\",status=\"{}\"",
            METHODS[labels.method],
            escape(&labels.route),
            CLASSES[labels.class]
        );
        let mut count = 0u64;
        for (i, bucket) in series.counts.iter().enumerate() {
            count += bucket.load(Ordering::Relaxed);
            let bound = BUCKETS.get(i).map_or("+Inf".to_owned(), f64::to_string);
            let _ = writeln!(out, "{NAME}_bucket{{{common},le=\"{bound}\"}} {count}");
        }
        let sum = Duration::from_nanos(series.sum_nanos.load(Ordering::Relaxed)).as_secs_f64();
        let _ = writeln!(out, "{NAME}_sum{{{common}}} {sum}");
        let _ = writeln!(out, "{NAME}_count{{{common}}} {count}");
    }
}

/// A label value as Prometheus's text format writes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, series: &str) -> Option<&'a str> {
        text.lines()
            .find(|l| l.starts_with(series))
            .map(|l| l.rsplit_once(' ').map_or("", |(_, v)| v))
    }

    #[test]
    fn buckets_are_cumulative_with_the_sum_and_count_of_every_thread() {
        let route = "/test/latency/{id}";
        record("POST", route, 200, Duration::from_micros(400));
        record("POST", route, 201, Duration::from_millis(2));
        std::thread::spawn(move || record("POST", route, 204, Duration::from_secs(20)))
            .join()
            .expect("a thread of its own");
        record("POST", route, 404, Duration::from_millis(1));

        let mut text = String::new();
        render(&mut text);
        let ok = format!("{NAME}_bucket{{method=\"POST\",route=\"{route}\",status=\"2xx\"");
        assert_eq!(line(&text, &format!("{ok},le=\"0.0005\"}}")), Some("1"));
        assert_eq!(line(&text, &format!("{ok},le=\"0.001\"}}")), Some("1"));
        // A duration equal to a bound falls in that bound's bucket.
        assert_eq!(line(&text, &format!("{ok},le=\"0.002\"}}")), Some("2"));
        assert_eq!(line(&text, &format!("{ok},le=\"10\"}}")), Some("2"));
        assert_eq!(line(&text, &format!("{ok},le=\"+Inf\"}}")), Some("3"));
        let common = format!("{{method=\"POST\",route=\"{route}\",status=\"2xx\"}}");
        assert_eq!(line(&text, &format!("{NAME}_count{common}")), Some("3"));
        let sum: f64 = line(&text, &format!("{NAME}_sum{common}"))
            .and_then(|v| v.parse().ok())
            .expect("a sum");
        assert!((sum - 20.0024).abs() < 1e-9, "{sum}");
        let refused = format!("{NAME}_count{{method=\"POST\",route=\"{route}\",status=\"4xx\"}}");
        assert_eq!(line(&text, &refused), Some("1"), "a series of its own");
        assert_eq!(text.matches(&format!("# TYPE {NAME} histogram")).count(), 1);
    }

    #[test]
    fn made_up_methods_share_one_series_and_values_are_escaped() {
        let route = "/test/\"quoted\"\\";
        record("FROBNICATE", route, 500, Duration::from_millis(1));
        record("BREW", route, 503, Duration::from_millis(1));
        let mut text = String::new();
        render(&mut text);
        let series = format!(
            "{NAME}_count{{method=\"other\",route=\"/test/\\\"quoted\\\"\\\\\",status=\"5xx\"}}"
        );
        assert_eq!(line(&text, &series), Some("2"), "{text}");
        assert!(!text.contains("FROBNICATE"));
    }
}
