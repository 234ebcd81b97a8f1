//! Appending export requests to the store, with size rotation and retention.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::{StoreError, StoreOptions, codec, file_name, list_files};

/// Appends one OTLP-JSON line per export request to this process's current store file.
///
/// Not `Sync`-shared by design: the exporter worker owns it. Several processes may write
/// the same directory at once; each uses its own files.
#[derive(Debug)]
pub struct StoreWriter {
    dir: PathBuf,
    options: StoreOptions,
    current: Option<CurrentFile>,
    /// Millisecond stamp of the last file this writer started, so a rotation within the
    /// same millisecond still gets a later (and unique) name.
    last_millis: u64,
}

#[derive(Debug)]
struct CurrentFile {
    path: PathBuf,
    file: File,
    size: u64,
    /// The process that opened it: a forked child must not share its parent's file.
    pid: u32,
}

impl StoreWriter {
    /// Creates `dir` if needed and trims it to `options.max_total_bytes`. The first file is
    /// created on the first [`append`](Self::append), so a process that never records
    /// leaves no empty file behind.
    pub fn open(dir: impl AsRef<Path>, options: StoreOptions) -> io::Result<StoreWriter> {
        if options.max_file_bytes == 0 {
            return Err(invalid("max_file_bytes must be greater than 0"));
        }
        if options.max_total_bytes < options.max_file_bytes {
            return Err(invalid("max_total_bytes must be at least max_file_bytes"));
        }
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let writer = StoreWriter {
            dir,
            options,
            current: None,
            last_millis: 0,
        };
        writer.enforce_retention(None);
        Ok(writer)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file the next line goes to, if one has been started.
    pub fn current_file(&self) -> Option<&Path> {
        self.current.as_ref().map(|c| c.path.as_path())
    }

    /// Writes `req` as one line with a single write call and returns the bytes written.
    ///
    /// Starts a new file first when this one would exceed `max_file_bytes`, or when the
    /// process has forked since the file was opened. After a failed write the file is
    /// abandoned (its last line may be partial; readers report it) and the next append
    /// starts a fresh one.
    pub fn append(&mut self, req: &ExportTraceServiceRequest) -> Result<usize, StoreError> {
        self.append_line(&codec::encode_line(req)?)
    }

    /// Writes one line that is already OTLP-JSON ending in `\n` (the export
    /// worker encodes it straight from the records), as [`append`](Self::append).
    pub fn append_line(&mut self, line: &[u8]) -> Result<usize, StoreError> {
        let len = line.len() as u64;
        let pid = std::process::id();
        let rotate = match &self.current {
            None => true,
            Some(cur) => {
                cur.pid != pid || (cur.size > 0 && cur.size + len > self.options.max_file_bytes)
            }
        };
        if rotate {
            self.start_file(pid)?;
        }
        let Some(cur) = self.current.as_mut() else {
            // start_file either sets `current` or returns an error.
            return Err(StoreError::Io {
                path: self.dir.clone(),
                source: io::Error::other("no current store file"),
            });
        };
        if let Err(source) = cur.file.write_all(line) {
            let path = cur.path.clone();
            self.current = None;
            return Err(StoreError::Io { path, source });
        }
        cur.size += len;
        Ok(line.len())
    }

    fn start_file(&mut self, pid: u32) -> Result<(), StoreError> {
        self.current = None;
        let io_err = |path: &Path, source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        // The directory may have been removed while we were running (`rm -rf .tokentrace`).
        std::fs::create_dir_all(&self.dir).map_err(|e| io_err(&self.dir, e))?;
        let mut millis = unix_millis().max(self.last_millis + 1);
        let mut attempts = 0;
        let (path, file) = loop {
            let path = self.dir.join(file_name(millis, pid));
            match OpenOptions::new().append(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                // Another writer in this process (or a reused pid) took the name.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 1000 => {
                    millis += 1;
                    attempts += 1;
                }
                Err(e) => return Err(io_err(&path, e)),
            }
        };
        self.last_millis = millis;
        self.enforce_retention(Some(&path));
        self.current = Some(CurrentFile {
            path,
            file,
            size: 0,
            pid,
        });
        Ok(())
    }

    /// Deletes the oldest store files (of any process) until the others fit in
    /// `max_total_bytes - max_file_bytes`, leaving room for the file being filled. Never
    /// deletes `keep`. Best effort: a file another process already deleted is fine, and
    /// failing to delete must not stop spans from being written.
    fn enforce_retention(&self, keep: Option<&Path>) {
        let Ok(files) = list_files(&self.dir) else {
            return;
        };
        let budget = self
            .options
            .max_total_bytes
            .saturating_sub(self.options.max_file_bytes);
        let mut total: u64 = files
            .iter()
            .filter(|f| Some(f.path.as_path()) != keep)
            .map(|f| f.len)
            .sum();
        for file in files {
            if total <= budget {
                break;
            }
            if Some(file.path.as_path()) == keep {
                continue;
            }
            match std::fs::remove_file(&file.path) {
                Ok(()) => total = total.saturating_sub(file.len),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    total = total.saturating_sub(file.len)
                }
                Err(_) => {}
            }
        }
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{request, temp_dir};
    use super::super::{StoreReader, list_files};
    use super::*;

    #[test]
    fn rotates_before_a_file_would_exceed_max_file_bytes() {
        let dir = temp_dir("rotate");
        let options = StoreOptions {
            max_file_bytes: 2_000,
            max_total_bytes: 1_000_000,
        };
        let mut writer = StoreWriter::open(&dir, options).unwrap();
        let mut written = Vec::new();
        for i in 0..12 {
            written.push(writer.append(&request(i, 300)).unwrap());
        }
        let files = list_files(&dir).unwrap();
        assert!(
            files.len() >= 3,
            "expected several files, got {}",
            files.len()
        );
        for f in &files {
            assert!(f.len <= 2_000, "{} has {} bytes", f.path.display(), f.len);
            let text = std::fs::read_to_string(&f.path).unwrap();
            assert!(text.ends_with('\n'), "{} ends mid-line", f.path.display());
        }
        let total: u64 = files.iter().map(|f| f.len).sum();
        assert_eq!(total, written.iter().sum::<usize>() as u64);

        // Every request comes back, in write order, across the rotated files.
        let names: Vec<String> = StoreReader::open(&dir)
            .unwrap()
            .load()
            .spans
            .into_iter()
            .map(|s| s.span.name)
            .collect();
        let expected: Vec<String> = (0..12).map(|i| format!("span-{i}")).collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn an_oversized_line_gets_a_file_of_its_own() {
        let dir = temp_dir("oversized");
        let options = StoreOptions {
            max_file_bytes: 500,
            max_total_bytes: 100_000,
        };
        let mut writer = StoreWriter::open(&dir, options).unwrap();
        writer.append(&request(0, 10)).unwrap();
        let big = writer.append(&request(1, 2_000)).unwrap();
        writer.append(&request(2, 10)).unwrap();
        let files = list_files(&dir).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(files[1].len, big as u64);
        assert_eq!(StoreReader::open(&dir).unwrap().load().spans.len(), 3);
    }

    #[test]
    fn retention_deletes_the_oldest_files_and_keeps_the_newest_data() {
        let dir = temp_dir("retention");
        let options = StoreOptions {
            max_file_bytes: 1_000,
            max_total_bytes: 3_000,
        };
        let mut writer = StoreWriter::open(&dir, options).unwrap();
        for i in 0..40 {
            writer.append(&request(i, 300)).unwrap();
        }
        let files = list_files(&dir).unwrap();
        let total: u64 = files.iter().map(|f| f.len).sum();
        assert!(total <= 3_000, "store holds {total} bytes");
        let spans = StoreReader::open(&dir).unwrap().load().spans;
        let names: Vec<&str> = spans.iter().map(|s| s.span.name.as_str()).collect();
        assert_eq!(names.last(), Some(&"span-39"));
        assert!(!names.contains(&"span-0"), "{names:?}");
        // What is kept is a contiguous run of the newest spans.
        let first: usize = names[0].trim_start_matches("span-").parse().unwrap();
        let expected: Vec<String> = (first..40).map(|i| format!("span-{i}")).collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn open_trims_an_existing_store_and_rejects_bad_limits() {
        let dir = temp_dir("trim-on-open");
        let mut writer = StoreWriter::open(&dir, StoreOptions::default()).unwrap();
        for i in 0..5 {
            writer.append(&request(i, 2_000)).unwrap();
            writer.current = None; // force one file per request
        }
        assert_eq!(list_files(&dir).unwrap().len(), 5);
        let small = StoreOptions {
            max_file_bytes: 3_000,
            max_total_bytes: 6_000,
        };
        StoreWriter::open(&dir, small).unwrap();
        let left = list_files(&dir).unwrap();
        assert!(left.iter().map(|f| f.len).sum::<u64>() <= 3_000);
        assert!(!left.is_empty());

        let err = StoreWriter::open(
            &dir,
            StoreOptions {
                max_file_bytes: 0,
                max_total_bytes: 1,
            },
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = StoreWriter::open(
            &dir,
            StoreOptions {
                max_file_bytes: 10,
                max_total_bytes: 5,
            },
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn file_names_carry_the_pid_and_sort_in_write_order() {
        let dir = temp_dir("names");
        let mut writer = StoreWriter::open(&dir, StoreOptions::default()).unwrap();
        assert!(writer.current_file().is_none());
        writer.append(&request(0, 10)).unwrap();
        let first = writer.current_file().unwrap().to_path_buf();
        writer.current = None;
        writer.append(&request(1, 10)).unwrap();
        let second = writer.current_file().unwrap().to_path_buf();
        let pid = std::process::id().to_string();
        for path in [&first, &second] {
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(name.ends_with(&format!("-{pid}.jsonl")), "{name}");
        }
        let listed: Vec<PathBuf> = list_files(&dir)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(listed, vec![first, second]);
    }

    #[test]
    fn a_new_file_recreates_a_deleted_directory() {
        let dir = temp_dir("deleted");
        let mut writer = StoreWriter::open(&dir, StoreOptions::default()).unwrap();
        writer.append(&request(0, 10)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        writer.current = None;
        writer.append(&request(1, 10)).unwrap();
        assert_eq!(StoreReader::open(&dir).unwrap().load().spans.len(), 1);
    }
}
