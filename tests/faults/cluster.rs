//! A throwaway PostgreSQL cluster on a spare port, which a fault test may stop and
//! start without touching the shared server other tests use.
//!
//! `initdb` refuses to run as root, so as root every PostgreSQL command runs as the
//! `postgres` user (`runuser`), in a temporary directory that user owns.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context};
use tempfile::TempDir;

pub struct PgCluster {
    pub port: u16,
    bin: PathBuf,
    dir: TempDir,
    as_postgres: bool,
}

impl PgCluster {
    /// `initdb` + `pg_ctl start` on a free port, listening on 127.0.0.1 only.
    pub async fn start_new() -> anyhow::Result<PgCluster> {
        let bin = postgres_bin_dir()?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new().prefix("vigil-pg-").tempdir()?;
        if as_postgres {
            let (uid, gid) = (id_of("-u")?, id_of("-g")?);
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .context("giving the cluster directory to the postgres user")?;
        }
        let cluster = PgCluster {
            port: crate::helpers::free_port(),
            bin,
            dir,
            as_postgres,
        };
        let data = cluster.data_dir();
        cluster
            .run(
                "initdb",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                    "--no-instructions",
                ],
            )
            .await?;
        cluster.start().await?;
        Ok(cluster)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// The server's log so far, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub async fn start(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data_dir().to_str().unwrap(),
                "-l",
                self.log_file().to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .await
    }

    /// `pg_ctl stop -m fast`: clients are disconnected, the port closes.
    pub async fn stop(&self) -> anyhow::Result<()> {
        self.stop_with("fast").await
    }

    /// `pg_ctl stop -m immediate`: the server quits without a checkpoint, as in a
    /// crash, and recovers from its WAL at the next start.
    pub async fn stop_immediately(&self) -> anyhow::Result<()> {
        self.stop_with("immediate").await
    }

    async fn stop_with(&self, mode: &str) -> anyhow::Result<()> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data_dir().to_str().unwrap(),
                "-m",
                mode,
                "-w",
                "-t",
                "60",
                "stop",
            ],
        )
        .await
    }

    fn command(&self, program: &str, args: &[&str]) -> tokio::process::Command {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = tokio::process::Command::new(runuser());
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            tokio::process::Command::new(path)
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        command
    }

    async fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let output = self
            .command(program, args)
            .output()
            .await
            .with_context(|| format!("running {program}"))?;
        if !output.status.success() {
            bail!(
                "{program} {args:?} failed ({}):\n{}\n{}\nlog:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                self.log_tail()
            );
        }
        Ok(())
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Never leave a server running, even when the test panicked.
        let data = self.data_dir();
        let path = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = std::process::Command::new(runuser());
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            std::process::Command::new(path)
        };
        let _ = command
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `/usr/lib/postgresql/<highest version>/bin`.
fn postgres_bin_dir() -> anyhow::Result<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .with_context(|| format!("listing {}: is PostgreSQL installed?", root.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no /usr/lib/postgresql/*/bin/initdb found")
}

/// util-linux's runuser; /usr/sbin may be missing from a non-login PATH.
fn runuser() -> &'static str {
    if Path::new("/usr/sbin/runuser").exists() {
        "/usr/sbin/runuser"
    } else {
        "runuser"
    }
}

pub(crate) fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn id_of(flag: &str) -> anyhow::Result<u32> {
    let output = std::process::Command::new("id")
        .args([flag, "postgres"])
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "no postgres user: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?.trim().parse()?)
}
