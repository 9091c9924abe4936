//! The disk half of the buffer: one file per sealed batch, holding exactly the gzip
//! bytes that are POSTed, so a batch read back is resent byte for byte (Vigil's
//! content-derived batch ids then make the resend idempotent).
//!
//! Files are named `<seq:020>-<points>.json.gz`: the sequence number orders them
//! across restarts and the point count lets dropped points be counted without
//! reading the file. A file is written under a `.tmp` name and renamed, so a crash
//! mid-write leaves no half batch that would later be sent.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A batch found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpilledBatch {
    pub seq: u64,
    pub points: usize,
    pub path: PathBuf,
    pub bytes: u64,
}

/// The spill directory.
#[derive(Debug, Clone)]
pub struct SpillDir {
    dir: PathBuf,
}

impl SpillDir {
    /// Creates the directory if needed.
    pub fn open(dir: &Path) -> io::Result<SpillDir> {
        fs::create_dir_all(dir)?;
        Ok(SpillDir {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes one batch; returns its path and size.
    pub fn write(&self, seq: u64, points: usize, body: &[u8]) -> io::Result<(PathBuf, u64)> {
        let name = format!("{seq:020}-{points}.json.gz");
        let tmp = self.dir.join(format!("{name}.tmp"));
        let path = self.dir.join(name);
        fs::write(&tmp, body)?;
        fs::rename(&tmp, &path)?;
        Ok((path, body.len() as u64))
    }

    /// Every complete batch in the directory, oldest first; removes leftover `.tmp` files.
    pub fn list(&self) -> io::Result<Vec<SpilledBatch>> {
        let mut batches = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
                continue;
            }
            let Some(stem) = name.strip_suffix(".json.gz") else {
                continue;
            };
            let Some((seq, points)) = stem.split_once('-') else {
                continue;
            };
            let (Ok(seq), Ok(points)) = (seq.parse::<u64>(), points.parse::<usize>()) else {
                continue;
            };
            batches.push(SpilledBatch {
                seq,
                points,
                path: entry.path(),
                bytes: entry.metadata()?.len(),
            });
        }
        batches.sort_by_key(|b| b.seq);
        Ok(batches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_in_order_and_tmp_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillDir::open(&dir.path().join("spill")).unwrap();
        spill.write(12, 3, b"twelve").unwrap();
        spill.write(2, 1, b"two").unwrap();
        fs::write(
            spill.path().join("00000000000000000099-5.json.gz.tmp"),
            b"half",
        )
        .unwrap();
        fs::write(spill.path().join("unrelated.txt"), b"x").unwrap();
        let batches = spill.list().unwrap();
        assert_eq!(
            batches
                .iter()
                .map(|b| (b.seq, b.points, b.bytes))
                .collect::<Vec<_>>(),
            [(2, 1, 3), (12, 3, 6)]
        );
        assert_eq!(fs::read(&batches[1].path).unwrap(), b"twelve");
        assert!(!spill
            .path()
            .join("00000000000000000099-5.json.gz.tmp")
            .exists());
    }
}
