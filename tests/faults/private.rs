//! Private Redis and RabbitMQ servers on spare ports, which a chaos test may hang or
//! kill -9 without touching the shared ones other engineers' tests use.
//!
//! The RabbitMQ node is a second node on this machine (its own node name, ports,
//! data directory, no plugins), started as the `rabbitmq` user when run as root, the
//! way the packaged service runs. Killing its `beam.smp` with SIGKILL is a real
//! broker crash: what it confirmed must be on its disk at the next start.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tempfile::TempDir;

use crate::cluster::is_root;
use crate::helpers::free_port;

/// Sends `signal` (STOP, CONT, KILL, ...) to `pid` with the shell's builtin kill.
pub fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let status = Command::new("sh")
        .args(["-c", &format!("kill -{signal} \"$0\""), &pid.to_string()])
        .status()
        .context("running sh -c kill")?;
    anyhow::ensure!(status.success(), "kill -{signal} {pid} failed");
    Ok(())
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
async fn wait_for_port(port: u16, timeout: Duration, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() >= deadline {
            bail!("{what} did not listen on port {port} within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// A `redis-server` child on a spare port, without persistence.
pub struct PrivateRedis {
    pub port: u16,
    child: Child,
}

impl PrivateRedis {
    pub async fn start() -> anyhow::Result<PrivateRedis> {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server (is it installed?)")?;
        let redis = PrivateRedis { port, child };
        wait_for_port(port, Duration::from_secs(20), "redis-server").await?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// SIGSTOP: the server keeps its sockets open and answers nothing, a hang.
    pub fn hang(&self) -> anyhow::Result<()> {
        signal(self.child.id(), "STOP")
    }

    pub fn resume(&self) -> anyhow::Result<()> {
        signal(self.child.id(), "CONT")
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = signal(self.child.id(), "CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A RabbitMQ node of its own: `rabbitmq-server` with a private node name, AMQP and
/// distribution ports, data directory, config and no plugins.
pub struct PrivateRabbit {
    pub port: u16,
    dist_port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl PrivateRabbit {
    pub async fn start_new() -> anyhow::Result<PrivateRabbit> {
        let dir = tempfile::Builder::new().prefix("vigil-rmq-").tempdir()?;
        let port = free_port();
        std::fs::write(dir.path().join("enabled_plugins"), "[].\n")?;
        std::fs::write(dir.path().join("env.conf"), "")?;
        std::fs::write(
            dir.path().join("rabbitmq.conf"),
            format!("listeners.tcp.default = 127.0.0.1:{port}\nloopback_users.guest = true\n"),
        )?;
        if is_root() {
            let owner = Command::new("chown")
                .args(["-R", "rabbitmq:rabbitmq"])
                .arg(dir.path())
                .status()?;
            anyhow::ensure!(
                owner.success(),
                "chown of the node's directory to rabbitmq failed"
            );
        }
        let mut node = PrivateRabbit {
            port,
            dist_port: free_port(),
            dir,
            child: None,
        };
        node.start().await?;
        Ok(node)
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts the node on its existing data directory and waits for its AMQP port
    /// (slow on a loaded 2-core machine: up to a minute).
    pub async fn start(&mut self) -> anyhow::Result<()> {
        let _ = std::fs::remove_file(self.path("pid"));
        let dir = self.dir.path();
        let env = [
            ("HOME", dir.to_path_buf()),
            (
                "RABBITMQ_NODENAME",
                format!("vigil-chaos-{}@localhost", self.port).into(),
            ),
            ("RABBITMQ_NODE_PORT", self.port.to_string().into()),
            ("RABBITMQ_DIST_PORT", self.dist_port.to_string().into()),
            ("RABBITMQ_MNESIA_BASE", self.path("mnesia")),
            ("RABBITMQ_LOG_BASE", self.path("log")),
            (
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                self.path("enabled_plugins"),
            ),
            ("RABBITMQ_CONF_ENV_FILE", self.path("env.conf")),
            ("RABBITMQ_CONFIG_FILE", self.path("rabbitmq")),
            ("RABBITMQ_PID_FILE", self.path("pid")),
            ("ERL_EPMD_ADDRESS", "127.0.0.1".into()),
        ];
        let server = Path::new("/usr/lib/rabbitmq/bin/rabbitmq-server");
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "rabbitmq", "--", "env"]);
            for (k, v) in &env {
                c.arg(format!("{k}={}", v.display()));
            }
            c.arg(server);
            c
        } else {
            let mut c = Command::new(server);
            c.envs(env.iter().map(|(k, v)| (k, v)));
            c
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("out.log"))?;
        let child = command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting rabbitmq-server")?;
        self.child = Some(child);
        wait_for_port(
            self.port,
            Duration::from_secs(90),
            "the private RabbitMQ node",
        )
        .await
    }

    /// The Erlang VM's pid, from the node's pid file.
    fn beam_pid(&self) -> anyhow::Result<u32> {
        let text =
            std::fs::read_to_string(self.path("pid")).context("reading the node's pid file")?;
        Ok(text.trim().parse()?)
    }

    /// kill -9 of the node's VM; returns once its port is closed.
    pub async fn kill9(&mut self) -> anyhow::Result<()> {
        signal(self.beam_pid()?, "KILL")?;
        if let Some(mut child) = self.child.take() {
            let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_ok()
        {
            anyhow::ensure!(Instant::now() < deadline, "the killed node still listens");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// The node's own log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.path("out.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        if let Ok(pid) = self.beam_pid() {
            let _ = signal(pid, "KILL");
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}
