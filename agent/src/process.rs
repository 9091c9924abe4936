//! CPU time and resident memory of a process, from `/proc/<pid>/stat` and
//! `/proc/<pid>/status`: the agent reports its own, the benchmark reads the agent's.

use std::fs;

/// Cumulative CPU seconds (user + system) and resident bytes of a process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
}

/// `pid` None: this process.
pub fn usage(pid: Option<u32>) -> Option<Usage> {
    let dir = match pid {
        Some(pid) => format!("/proc/{pid}"),
        None => "/proc/self".to_string(),
    };
    let stat = fs::read_to_string(format!("{dir}/stat")).ok()?;
    let status = fs::read_to_string(format!("{dir}/status")).ok()?;
    Some(Usage {
        cpu_seconds: cpu_seconds(&stat)?,
        rss_bytes: rss_bytes(&status)?,
    })
}

/// utime + stime of a `/proc/<pid>/stat` line, in seconds.
pub fn cpu_seconds(stat: &str) -> Option<f64> {
    // The command name (field 2) is in parentheses and may contain spaces: count
    // fields after the last ')'. utime and stime are fields 14 and 15.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
    Some((utime + stime) as f64 / ticks)
}

/// `VmRSS` of a `/proc/<pid>/status`, in bytes.
pub fn rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 200";
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        assert_eq!(cpu_seconds(stat), Some(300.0 / ticks));
        assert_eq!(
            rss_bytes("Name:\tx\nVmRSS:\t  2048 kB\n"),
            Some(2048 * 1024)
        );
    }

    #[test]
    fn reads_itself() {
        let usage = usage(None).unwrap();
        assert!(usage.rss_bytes > 0);
    }
}
