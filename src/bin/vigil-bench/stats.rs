//! Figures: latency percentiles, medians of repeated runs, and what the bench can see
//! of processes through `/proc` (the server's resident memory, CPU time used).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use serde::Serialize;

/// Latency summary in milliseconds (nearest-rank percentiles).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    pub fn from_samples(samples: &[Duration]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(|a, b| a.total_cmp(b));
        let pick = |p: f64| {
            let rank = ((p / 100.0) * ms.len() as f64).ceil() as usize;
            ms[rank.clamp(1, ms.len()) - 1]
        };
        Self {
            count: ms.len(),
            p50_ms: pick(50.0),
            p95_ms: pick(95.0),
            p99_ms: pick(99.0),
            max_ms: *ms.last().unwrap(),
            mean_ms: ms.iter().sum::<f64>() / ms.len() as f64,
        }
    }

    pub fn brief(&self) -> String {
        if self.count == 0 {
            return "n=0".into();
        }
        format!(
            "p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms  (n={})",
            self.p50_ms, self.p95_ms, self.p99_ms, self.max_ms, self.count
        )
    }
}

/// Median of a non-empty list (mean of the middle two when even).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
pub fn read_rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// User + system CPU seconds a process has used (clock ticks assumed 100 Hz, the Linux
/// default on x86-64 and arm64).
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may contain spaces; fields restart after its closing paren.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Server memory as observed during a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerMemory {
    pub pid: u32,
    /// Largest `VmRSS` seen while sampling (every 250 ms).
    pub peak_rss_sampled_mib: f64,
    /// `VmHWM` at the end: the kernel's high-water mark over the process's whole life.
    pub vm_hwm_mib: f64,
    /// `VmRSS` at the end.
    pub final_rss_mib: f64,
    /// CPU seconds the server used during the run.
    pub cpu_seconds: Option<f64>,
}

/// Samples a process's RSS in the background of the current (local) task set.
pub struct RssSampler {
    pid: u32,
    peak_kib: Rc<Cell<u64>>,
    stop: Rc<Cell<bool>>,
    cpu_start: Option<f64>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let peak_kib = Rc::new(Cell::new(0));
        let stop = Rc::new(Cell::new(false));
        let (p, s) = (peak_kib.clone(), stop.clone());
        actix_rt::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            while !s.get() {
                tick.tick().await;
                if let Some((rss, _)) = read_rss_kib(pid) {
                    p.set(p.get().max(rss));
                }
            }
        });
        Self {
            pid,
            peak_kib,
            stop,
            cpu_start: cpu_seconds(Some(pid)),
        }
    }

    pub fn finish(self) -> ServerMemory {
        self.stop.set(true);
        let (rss, hwm) = read_rss_kib(self.pid).unwrap_or((0, 0));
        let peak = self.peak_kib.get().max(rss);
        let cpu = match (self.cpu_start, cpu_seconds(Some(self.pid))) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        ServerMemory {
            pid: self.pid,
            peak_rss_sampled_mib: peak as f64 / 1024.0,
            vm_hwm_mib: hwm as f64 / 1024.0,
            final_rss_mib: rss as f64 / 1024.0,
            cpu_seconds: cpu,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let s: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let l = Latency::from_samples(&s);
        assert_eq!(l.p50_ms, 50.0);
        assert_eq!(l.p95_ms, 95.0);
        assert_eq!(l.p99_ms, 99.0);
        assert_eq!(l.max_ms, 100.0);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn own_process_is_readable() {
        assert!(read_rss_kib(std::process::id()).is_some());
        assert!(cpu_seconds(None).is_some());
    }
}
