//! Following the store as writers append to it (`tokentrace tail`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::reader::{decode, file_issue};
use super::{StoreBatch, list_files};

/// Remembers how far each store file has been read and, on each [`poll`](Self::poll),
/// returns what was completed since.
///
/// Only complete lines (ending in `\n`) are consumed: a line a writer is still writing is
/// left for a later poll. New files (rotation, new processes) are picked up, files removed
/// by retention are forgotten, and a file that shrank is read again from its start.
#[derive(Debug)]
pub struct StoreFollower {
    dir: PathBuf,
    cursors: HashMap<PathBuf, Cursor>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Cursor {
    /// Byte offset just after the last consumed `\n`.
    offset: u64,
    /// Number of lines consumed.
    line: usize,
}

impl StoreFollower {
    /// Follows `dir` from the beginning of every file in it. The directory does not need to
    /// exist yet.
    pub fn new(dir: impl AsRef<Path>) -> StoreFollower {
        StoreFollower {
            dir: dir.as_ref().to_path_buf(),
            cursors: HashMap::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads every line completed since the last poll, oldest file first.
    pub fn poll(&mut self) -> io::Result<StoreBatch> {
        let mut batch = StoreBatch::default();
        let files = match list_files(&self.dir) {
            Ok(files) => files,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.cursors.clear();
                return Ok(batch);
            }
            Err(e) => return Err(e),
        };
        self.cursors
            .retain(|path, _| files.iter().any(|f| &f.path == path));
        for file in files {
            let cursor = self.cursors.entry(file.path.clone()).or_default();
            if file.len < cursor.offset {
                *cursor = Cursor::default();
            }
            if file.len == cursor.offset {
                continue;
            }
            if let Err(e) = read_complete_lines(&file.path, cursor, &mut batch)
                && e.kind() != io::ErrorKind::NotFound
            {
                batch.issues.push(file_issue(&file.path, &e));
            }
        }
        Ok(batch)
    }
}

fn read_complete_lines(path: &Path, cursor: &mut Cursor, batch: &mut StoreBatch) -> io::Result<()> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(cursor.offset))?;
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 || buf.last() != Some(&b'\n') {
            // End of file, or a line still being written: wait for the next poll.
            return Ok(());
        }
        cursor.offset += n as u64;
        cursor.line += 1;
        if let Some(item) = decode(path, cursor.line, &buf, true) {
            batch.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{request, temp_dir};
    use super::super::{StoreOptions, StoreWriter, codec};
    use super::*;
    use std::io::Write;

    fn names(batch: &StoreBatch) -> Vec<&str> {
        batch.spans.iter().map(|s| s.span.name.as_str()).collect()
    }

    #[test]
    fn a_partial_last_line_waits_until_it_is_complete() {
        let dir = temp_dir("follow-partial");
        let path = dir.join("traces-1000-1.jsonl");
        let first = codec::encode_line(&request(0, 5)).unwrap();
        let second = codec::encode_line(&request(1, 5)).unwrap();
        let (head, tail) = second.split_at(second.len() / 2);
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&first).unwrap();
        f.write_all(head).unwrap();

        let mut follower = StoreFollower::new(&dir);
        let batch = follower.poll().unwrap();
        assert_eq!(names(&batch), ["span-0"]);
        assert!(
            batch.issues.is_empty(),
            "a line in progress is not an error: {:?}",
            batch.issues
        );
        assert!(follower.poll().unwrap().spans.is_empty());

        f.write_all(tail).unwrap();
        let batch = follower.poll().unwrap();
        assert_eq!(names(&batch), ["span-1"]);
        assert_eq!(batch.spans[0].line, 2);
        assert!(
            follower.poll().unwrap().spans.is_empty(),
            "nothing is yielded twice"
        );
    }

    #[test]
    fn picks_up_rotated_and_new_files_and_survives_deletion() {
        let dir = temp_dir("follow-rotate");
        let mut follower = StoreFollower::new(dir.join("store"));
        assert!(
            follower.poll().unwrap().spans.is_empty(),
            "missing dir is just empty"
        );

        let options = StoreOptions {
            max_file_bytes: 600,
            max_total_bytes: 1_000_000,
        };
        let mut writer = StoreWriter::open(dir.join("store"), options).unwrap();
        writer.append(&request(0, 300)).unwrap();
        assert_eq!(names(&follower.poll().unwrap()), ["span-0"]);

        writer.append(&request(1, 300)).unwrap(); // rotates
        writer.append(&request(2, 300)).unwrap(); // rotates again
        assert_eq!(names(&follower.poll().unwrap()), ["span-1", "span-2"]);

        std::fs::remove_dir_all(dir.join("store")).unwrap();
        assert!(follower.poll().unwrap().spans.is_empty());
        let mut writer = StoreWriter::open(dir.join("store"), StoreOptions::default()).unwrap();
        writer.append(&request(3, 10)).unwrap();
        assert_eq!(names(&follower.poll().unwrap()), ["span-3"]);
    }

    #[test]
    fn corrupt_complete_lines_are_reported_once() {
        let dir = temp_dir("follow-corrupt");
        let path = dir.join("traces-1000-1.jsonl");
        let mut content = b"not json\n".to_vec();
        content.extend(codec::encode_line(&request(0, 5)).unwrap());
        std::fs::write(&path, content).unwrap();
        let mut follower = StoreFollower::new(&dir);
        let batch = follower.poll().unwrap();
        assert_eq!(names(&batch), ["span-0"]);
        assert_eq!(batch.issues.len(), 1);
        assert_eq!(
            (batch.issues[0].file.clone(), batch.issues[0].line),
            (path, 1)
        );
        assert!(follower.poll().unwrap().issues.is_empty());
    }
}
