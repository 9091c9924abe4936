//! The host collector: CPU, memory, swap, load, disk space, disk I/O, network,
//! uptime and processes, read from `/proc` and `statvfs(3)` directly.
//!
//! Why not `sysinfo`: the agent needs a dozen files it can parse in microseconds,
//! and reading them here keeps the footprint small and every number traceable to
//! the kernel file it came from (agent/README.md has the table). The parsers are pure
//! functions over the file text, unit-tested below; [`HostCollector::collect`] does
//! the reading. It blocks (statvfs on a hung network mount can take long), so the
//! agent runs it on the blocking pool with a timeout.
//!
//! Counters (`system.io.*`, `system.net.*`) are sent as the kernel's cumulative
//! values, like Prometheus counters: Vigil's `rate` aggregation turns them into
//! per-second rates, and a missed round loses no information. CPU usage is a rate by
//! nature, so it is computed here from the difference between two rounds; the first
//! round therefore has no `system.cpu.*` points.

use std::collections::{BTreeMap, HashSet};
use std::ffi::CString;
use std::fs;
use std::path::Path;

use crate::config::HostSettings;
use crate::point::{Point, Tags};

/// Bytes of a sector in /proc/diskstats (always 512, whatever the device's).
const SECTOR_BYTES: f64 = 512.0;

/// Jiffies per CPU mode from one `cpu` line of /proc/stat.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuTimes {
    /// All time (guest time is already inside user and nice).
    fn total(&self) -> u64 {
        self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
    }
}

/// What /proc/stat says: `cpus[0]` is the total, then one entry per core.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    pub cpus: Vec<(String, CpuTimes)>,
    pub procs_running: u64,
    pub procs_blocked: u64,
}

pub fn parse_stat(text: &str) -> Stat {
    let mut stat = Stat::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(key) = fields.next() else { continue };
        if let Some(core) = key.strip_prefix("cpu") {
            let v: Vec<u64> = fields.map(|f| f.parse().unwrap_or(0)).collect();
            let get = |i: usize| v.get(i).copied().unwrap_or(0);
            let label = if core.is_empty() {
                "total".to_string()
            } else {
                core.to_string()
            };
            stat.cpus.push((
                label,
                CpuTimes {
                    user: get(0),
                    nice: get(1),
                    system: get(2),
                    idle: get(3),
                    iowait: get(4),
                    irq: get(5),
                    softirq: get(6),
                    steal: get(7),
                },
            ));
        } else if key == "procs_running" {
            stat.procs_running = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
        } else if key == "procs_blocked" {
            stat.procs_blocked = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
        }
    }
    stat
}

/// /proc/meminfo as key -> bytes (the file says kB and means KiB).
pub fn parse_meminfo(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let (key, rest) = line.split_once(':')?;
            let mut words = rest.split_whitespace();
            let value: u64 = words.next()?.parse().ok()?;
            let factor = if words.next() == Some("kB") { 1024 } else { 1 };
            Some((key.to_string(), value * factor))
        })
        .collect()
}

/// /proc/loadavg: the 1, 5 and 15 minute averages.
pub fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>());
    Some([
        fields.next()?.ok()?,
        fields.next()?.ok()?,
        fields.next()?.ok()?,
    ])
}

/// /proc/uptime: seconds since boot.
pub fn parse_uptime(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

/// A line of /proc/mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub device: String,
    pub mount_point: String,
    pub fstype: String,
}

/// /proc/mounts, with the octal escapes (`\040` for a space) decoded.
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            Some(Mount {
                device: unescape_octal(f.next()?),
                mount_point: unescape_octal(f.next()?),
                fstype: f.next()?.to_string(),
            })
        })
        .collect()
}

fn unescape_octal(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let code =
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(code);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Cumulative I/O of one block device from /proc/diskstats.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskIo {
    pub device: String,
    pub reads: u64,
    pub read_bytes: f64,
    pub writes: u64,
    pub write_bytes: f64,
}

pub fn parse_diskstats(text: &str) -> Vec<DiskIo> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            let num = |i: usize| f[i].parse::<u64>().unwrap_or(0);
            Some(DiskIo {
                device: f[2].to_string(),
                reads: num(3),
                read_bytes: num(5) as f64 * SECTOR_BYTES,
                writes: num(7),
                write_bytes: num(9) as f64 * SECTOR_BYTES,
            })
        })
        .collect()
}

/// Cumulative counters of one interface from /proc/net/dev.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetIo {
    pub interface: String,
    pub bytes_recv: u64,
    pub packets_recv: u64,
    pub errors_in: u64,
    pub drops_in: u64,
    pub bytes_sent: u64,
    pub packets_sent: u64,
    pub errors_out: u64,
    pub drops_out: u64,
}

pub fn parse_net_dev(text: &str) -> Vec<NetIo> {
    text.lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let v: Vec<u64> = rest
                .split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect();
            if v.len() < 16 {
                return None;
            }
            Some(NetIo {
                interface: name.trim().to_string(),
                bytes_recv: v[0],
                packets_recv: v[1],
                errors_in: v[2],
                drops_in: v[3],
                bytes_sent: v[8],
                packets_sent: v[9],
                errors_out: v[10],
                drops_out: v[11],
            })
        })
        .collect()
}

/// Space of one filesystem as `df` reports it, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    pub total: u64,
    pub used: u64,
    /// Available to unprivileged users (`df`'s "Avail").
    pub free: u64,
}

/// `statvfs(3)` of a path.
pub fn statvfs(path: &str) -> Option<Space> {
    let c_path = CString::new(path).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a zeroed out-struct of the right type.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    let fragment = stat.f_frsize as u64;
    Some(Space {
        total: stat.f_blocks as u64 * fragment,
        used: (stat.f_blocks as u64).saturating_sub(stat.f_bfree as u64) * fragment,
        free: stat.f_bavail as u64 * fragment,
    })
}

/// Reads the host's metrics; keeps the previous CPU times for usage percentages.
pub struct HostCollector {
    settings: HostSettings,
    previous_cpu: Option<Vec<(String, CpuTimes)>>,
}

impl HostCollector {
    pub fn new(settings: HostSettings) -> HostCollector {
        HostCollector {
            settings,
            previous_cpu: None,
        }
    }

    /// One round of host metrics, every point stamped `timestamp`; `tags` are added to
    /// each (before the metric's own tags such as `cpu` or `mount`).
    pub fn collect(&mut self, timestamp: i64, tags: &Tags) -> Vec<Point> {
        let mut out = Out {
            points: Vec::with_capacity(128),
            timestamp,
            tags,
        };
        if let Ok(text) = fs::read_to_string("/proc/stat") {
            let stat = parse_stat(&text);
            self.cpu(&mut out, &stat);
            out.gauge("system.processes.running", stat.procs_running as f64, &[]);
            out.gauge("system.processes.blocked", stat.procs_blocked as f64, &[]);
        }
        if let Ok(text) = fs::read_to_string("/proc/meminfo") {
            memory(&mut out, &parse_meminfo(&text));
        }
        if let Some(load) = fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|t| parse_loadavg(&t))
        {
            out.gauge("system.load.1", load[0], &[]);
            out.gauge("system.load.5", load[1], &[]);
            out.gauge("system.load.15", load[2], &[]);
        }
        if let Some(uptime) = fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|t| parse_uptime(&t))
        {
            out.gauge("system.uptime", uptime, &[]);
        }
        if let Ok(entries) = fs::read_dir("/proc") {
            let count = entries
                .filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                })
                .count();
            out.gauge("system.processes.count", count as f64, &[]);
        }
        if let Ok(text) = fs::read_to_string("/proc/mounts") {
            self.disks(&mut out, &parse_mounts(&text));
        }
        if let Ok(text) = fs::read_to_string("/proc/diskstats") {
            self.disk_io(&mut out, &parse_diskstats(&text));
        }
        if let Ok(text) = fs::read_to_string("/proc/net/dev") {
            for net in parse_net_dev(&text) {
                if self.settings.ignore_interfaces.contains(&net.interface) {
                    continue;
                }
                let t = [("interface", net.interface.as_str())];
                out.gauge("system.net.bytes_recv", net.bytes_recv as f64, &t);
                out.gauge("system.net.bytes_sent", net.bytes_sent as f64, &t);
                out.gauge("system.net.packets_recv", net.packets_recv as f64, &t);
                out.gauge("system.net.packets_sent", net.packets_sent as f64, &t);
                out.gauge("system.net.errors_in", net.errors_in as f64, &t);
                out.gauge("system.net.errors_out", net.errors_out as f64, &t);
                out.gauge("system.net.drops_in", net.drops_in as f64, &t);
                out.gauge("system.net.drops_out", net.drops_out as f64, &t);
            }
        }
        out.points
    }

    fn cpu(&mut self, out: &mut Out<'_>, stat: &Stat) {
        let cores = stat.cpus.len().saturating_sub(1);
        out.gauge("system.cpu.count", cores as f64, &[]);
        if let Some(previous) = &self.previous_cpu {
            for (label, now) in &stat.cpus {
                let Some((_, before)) = previous.iter().find(|(l, _)| l == label) else {
                    continue;
                };
                let total = now.total().saturating_sub(before.total());
                if total == 0 {
                    continue;
                }
                let pct = |now: u64, before: u64| {
                    100.0 * now.saturating_sub(before) as f64 / total as f64
                };
                let idle = pct(now.idle, before.idle);
                let iowait = pct(now.iowait, before.iowait);
                let t = [("cpu", label.as_str())];
                out.gauge(
                    "system.cpu.usage",
                    (100.0 - idle - iowait).clamp(0.0, 100.0),
                    &t,
                );
                if label == "total" {
                    out.gauge(
                        "system.cpu.user",
                        pct(now.user + now.nice, before.user + before.nice),
                        &t,
                    );
                    out.gauge(
                        "system.cpu.system",
                        pct(
                            now.system + now.irq + now.softirq,
                            before.system + before.irq + before.softirq,
                        ),
                        &t,
                    );
                    out.gauge("system.cpu.iowait", iowait, &t);
                    out.gauge("system.cpu.steal", pct(now.steal, before.steal), &t);
                    out.gauge("system.cpu.idle", idle, &t);
                }
            }
        }
        self.previous_cpu = Some(stat.cpus.clone());
    }

    fn disks(&self, out: &mut Out<'_>, mounts: &[Mount]) {
        let mut seen = HashSet::new();
        for mount in mounts {
            if self.settings.ignore_fstypes.contains(&mount.fstype)
                || !seen.insert(mount.mount_point.clone())
                // Containers bind-mount single files (/etc/hosts); they are not disks.
                || !Path::new(&mount.mount_point).is_dir()
            {
                continue;
            }
            let Some(space) = statvfs(&mount.mount_point) else {
                continue;
            };
            if space.total == 0 {
                continue;
            }
            let t = [
                ("mount", mount.mount_point.as_str()),
                ("device", mount.device.as_str()),
                ("fstype", mount.fstype.as_str()),
            ];
            out.gauge("system.disk.total", space.total as f64, &t);
            out.gauge("system.disk.used", space.used as f64, &t);
            out.gauge("system.disk.free", space.free as f64, &t);
        }
    }

    fn disk_io(&self, out: &mut Out<'_>, devices: &[DiskIo]) {
        // Whole disks only (partitions would count the same bytes twice): those are
        // the entries of /sys/block. Without sysfs (some containers), report all.
        let whole: Option<HashSet<String>> = fs::read_dir("/sys/block").ok().map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        });
        for io in devices {
            if self
                .settings
                .ignore_devices
                .iter()
                .any(|p| io.device.starts_with(p.as_str()))
                || whole.as_ref().is_some_and(|w| !w.contains(&io.device))
            {
                continue;
            }
            let t = [("device", io.device.as_str())];
            out.gauge("system.io.read_bytes", io.read_bytes, &t);
            out.gauge("system.io.write_bytes", io.write_bytes, &t);
            out.gauge("system.io.reads", io.reads as f64, &t);
            out.gauge("system.io.writes", io.writes as f64, &t);
        }
    }
}

fn memory(out: &mut Out<'_>, mem: &BTreeMap<String, u64>) {
    let get = |k: &str| mem.get(k).copied();
    if let Some(total) = get("MemTotal") {
        out.gauge("system.mem.total", total as f64, &[]);
        // MemAvailable is the kernel's estimate of what can be allocated without
        // swapping; "used" is what is not available, as `free` computes it.
        if let Some(available) = get("MemAvailable") {
            out.gauge("system.mem.available", available as f64, &[]);
            out.gauge(
                "system.mem.used",
                total.saturating_sub(available) as f64,
                &[],
            );
        }
    }
    for (key, name) in [
        ("MemFree", "system.mem.free"),
        ("Cached", "system.mem.cached"),
        ("Buffers", "system.mem.buffers"),
    ] {
        if let Some(v) = get(key) {
            out.gauge(name, v as f64, &[]);
        }
    }
    if let (Some(total), Some(free)) = (get("SwapTotal"), get("SwapFree")) {
        out.gauge("system.swap.total", total as f64, &[]);
        out.gauge("system.swap.free", free as f64, &[]);
        out.gauge("system.swap.used", total.saturating_sub(free) as f64, &[]);
    }
}

/// Points of one round, with the shared timestamp and tags.
struct Out<'a> {
    points: Vec<Point>,
    timestamp: i64,
    tags: &'a Tags,
}

impl Out<'_> {
    /// Adds a point (counter or gauge alike: Vigil stores values, the type is in the
    /// README's table).
    fn gauge(&mut self, name: &str, value: f64, own: &[(&str, &str)]) {
        if !value.is_finite() {
            return;
        }
        let mut tags = self.tags.clone();
        for (k, v) in own {
            if !v.is_empty() {
                tags.insert((*k).to_string(), (*v).to_string());
            }
        }
        self.points
            .push(Point::new(name, value, tags, self.timestamp));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 5 50 800 20 3 2 1 0 0\n\
                        cpu0 50 2 25 400 10 1 1 1 0 0\n\
                        cpu1 50 3 25 400 10 2 1 0 0 0\n\
                        intr 1 2 3\nctxt 99\nprocs_running 3\nprocs_blocked 1\n";

    #[test]
    fn stat_has_total_and_cores() {
        let stat = parse_stat(STAT);
        assert_eq!(stat.cpus.len(), 3);
        assert_eq!(stat.cpus[0].0, "total");
        assert_eq!(stat.cpus[1].0, "0");
        assert_eq!(stat.cpus[0].1.idle, 800);
        assert_eq!(stat.cpus[0].1.total(), 981);
        assert_eq!((stat.procs_running, stat.procs_blocked), (3, 1));
    }

    #[test]
    fn cpu_usage_comes_from_the_difference_of_two_rounds() {
        let mut collector = HostCollector::new(crate::config::AgentSettings::defaults().host);
        let tags = Tags::new();
        let mut out = Out {
            points: vec![],
            timestamp: 1,
            tags: &tags,
        };
        collector.cpu(&mut out, &parse_stat(STAT));
        assert_eq!(out.points.len(), 1, "first round: only the core count");
        // 100 more jiffies on the total: 60 idle, 10 iowait, 30 user.
        let later = "cpu  130 5 50 860 30 3 2 1 0 0\ncpu0 65 2 25 430 15 1 1 1 0 0\ncpu1 65 3 25 430 15 2 1 0 0 0\n";
        let mut out = Out {
            points: vec![],
            timestamp: 2,
            tags: &tags,
        };
        collector.cpu(&mut out, &parse_stat(later));
        let find = |name: &str, cpu: &str| {
            out.points
                .iter()
                .find(|p| p.name == name && p.tags.get("cpu").map(String::as_str) == Some(cpu))
                .map(|p| p.value)
        };
        assert_eq!(find("system.cpu.usage", "total"), Some(30.0));
        assert_eq!(find("system.cpu.user", "total"), Some(30.0));
        assert_eq!(find("system.cpu.idle", "total"), Some(60.0));
        assert_eq!(find("system.cpu.iowait", "total"), Some(10.0));
        assert_eq!(find("system.cpu.usage", "0"), Some(30.0));
    }

    #[test]
    fn meminfo_is_in_bytes() {
        let mem = parse_meminfo(
            "MemTotal:       16318712 kB\nMemAvailable:    8000000 kB\nHugePages_Total:       0\n",
        );
        assert_eq!(mem["MemTotal"], 16318712 * 1024);
        assert_eq!(mem["HugePages_Total"], 0);
        let tags = Tags::new();
        let mut out = Out {
            points: vec![],
            timestamp: 1,
            tags: &tags,
        };
        memory(&mut out, &mem);
        let used = out
            .points
            .iter()
            .find(|p| p.name == "system.mem.used")
            .unwrap();
        assert_eq!(used.value, ((16318712u64 - 8000000) * 1024) as f64);
    }

    #[test]
    fn loadavg_uptime_mounts_diskstats_netdev() {
        assert_eq!(
            parse_loadavg("0.50 1.25 2.00 2/345 6789\n"),
            Some([0.5, 1.25, 2.0])
        );
        assert_eq!(parse_uptime("12345.67 23456.78\n"), Some(12345.67));
        let mounts =
            parse_mounts("/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040disk xfs rw 0 0\n");
        assert_eq!(mounts[1].mount_point, "/mnt/my disk");
        assert_eq!(mounts[0].fstype, "ext4");
        let disks =
            parse_diskstats("   8       0 sda 100 0 2000 0 50 0 4000 0 0 0 0 0 0 0 0 0 0\n");
        assert_eq!(disks[0].device, "sda");
        assert_eq!(disks[0].reads, 100);
        assert_eq!(disks[0].read_bytes, 2000.0 * 512.0);
        assert_eq!(disks[0].write_bytes, 4000.0 * 512.0);
        let net = parse_net_dev(
            "Inter-|   Receive                                                |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
             lo: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n",
        );
        assert_eq!(net.len(), 1);
        assert_eq!(net[0].interface, "lo");
        assert_eq!((net[0].bytes_recv, net[0].bytes_sent), (1000, 2000));
        assert_eq!((net[0].errors_in, net[0].errors_out), (1, 3));
    }

    #[test]
    fn statvfs_of_root() {
        let space = statvfs("/").unwrap();
        assert!(space.total > 0 && space.used <= space.total && space.free <= space.total);
    }
}
