//! Reading the whole store, oldest file first, line by line.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::{StoreBatch, StoreIssue, StoredRequest, StoredSpan, codec, list_files};

/// A snapshot of the store's file list; reading is lazy, one line at a time, so even a
/// full 256 MiB store is never held as text.
#[derive(Clone, Debug)]
pub struct StoreReader {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

impl StoreReader {
    /// Lists the store files of `dir`, oldest first. Fails with `NotFound` when `dir` does
    /// not exist, so a mistyped `--dir` is not mistaken for an empty store.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<StoreReader> {
        let dir = dir.as_ref().to_path_buf();
        let files = list_files(&dir)?.into_iter().map(|f| f.path).collect();
        Ok(StoreReader { dir, files })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Store files, oldest first.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Every stored export request, or an issue for each line that cannot be read.
    pub fn requests(&self) -> Requests<'_> {
        Requests {
            files: self.files.iter(),
            current: None,
        }
    }

    /// Every stored span, flattened with its resource and scope.
    pub fn spans(&self) -> Spans<'_> {
        Spans {
            requests: self.requests(),
            pending: Vec::new().into_iter(),
        }
    }

    /// Reads everything into memory.
    pub fn load(&self) -> StoreBatch {
        let mut batch = StoreBatch::default();
        for item in self.requests() {
            batch.push(item);
        }
        batch
    }
}

/// Iterator over the stored requests; see [`StoreReader::requests`].
#[derive(Debug)]
pub struct Requests<'a> {
    files: std::slice::Iter<'a, PathBuf>,
    current: Option<OpenFile>,
}

#[derive(Debug)]
struct OpenFile {
    path: PathBuf,
    reader: BufReader<File>,
    line: usize,
}

impl Iterator for Requests<'_> {
    type Item = Result<StoredRequest, StoreIssue>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        loop {
            let Some(open) = self.current.as_mut() else {
                let path = self.files.next()?;
                match File::open(path) {
                    Ok(file) => {
                        self.current = Some(OpenFile {
                            path: path.clone(),
                            reader: BufReader::new(file),
                            line: 0,
                        })
                    }
                    // Deleted by a writer's retention since the listing: nothing to report.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Some(Err(file_issue(path, &e))),
                }
                continue;
            };
            buf.clear();
            match open.reader.read_until(b'\n', &mut buf) {
                Ok(0) => self.current = None,
                Ok(_) => {
                    open.line += 1;
                    let complete = buf.last() == Some(&b'\n');
                    if let Some(item) = decode(&open.path, open.line, &buf, complete) {
                        return Some(item);
                    }
                }
                Err(e) => {
                    let issue = StoreIssue {
                        file: open.path.clone(),
                        line: open.line + 1,
                        error: format!("read error: {e}"),
                    };
                    self.current = None;
                    return Some(Err(issue));
                }
            }
        }
    }
}

/// Iterator over the stored spans; see [`StoreReader::spans`].
#[derive(Debug)]
pub struct Spans<'a> {
    requests: Requests<'a>,
    pending: std::vec::IntoIter<StoredSpan>,
}

impl Iterator for Spans<'_> {
    type Item = Result<StoredSpan, StoreIssue>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(span) = self.pending.next() {
                return Some(Ok(span));
            }
            match self.requests.next()? {
                Ok(request) => self.pending = request.into_spans().into_iter(),
                Err(issue) => return Some(Err(issue)),
            }
        }
    }
}

/// Decodes one raw line (with or without its `\n`); `None` for a blank line.
///
/// `complete` is false for a last line without `\n`: a write in progress or a crash. Such
/// a line is still used when it parses (only its newline was lost).
pub(super) fn decode(
    path: &Path,
    line: usize,
    raw: &[u8],
    complete: bool,
) -> Option<Result<StoredRequest, StoreIssue>> {
    let text = raw.strip_suffix(b"\n").unwrap_or(raw);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    if text.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(match codec::decode_line(text) {
        Ok(request) => Ok(StoredRequest {
            request,
            file: path.to_path_buf(),
            line,
        }),
        Err(err) => Err(StoreIssue {
            file: path.to_path_buf(),
            line,
            error: if complete {
                format!("invalid OTLP-JSON: {err}")
            } else {
                format!("truncated line (no newline at end of file): {err}")
            },
        }),
    })
}

pub(super) fn file_issue(path: &Path, err: &io::Error) -> StoreIssue {
    StoreIssue {
        file: path.to_path_buf(),
        line: 0,
        error: format!("cannot read: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{request, temp_dir};
    use super::super::{StoreOptions, StoreWriter};
    use super::*;
    use std::io::Write;

    #[test]
    fn corrupt_and_truncated_lines_are_reported_with_file_and_line_and_skipped() {
        let dir = temp_dir("corrupt");
        let mut writer = StoreWriter::open(&dir, StoreOptions::default()).unwrap();
        writer.append(&request(0, 10)).unwrap();
        let path = writer.current_file().unwrap().to_path_buf();
        {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(b"{\"resourceSpans\": [ this is not json\n\n")
                .unwrap();
        }
        writer.append(&request(1, 10)).unwrap();
        {
            let full = String::from_utf8(codec::encode_line(&request(2, 10)).unwrap()).unwrap();
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(&full.as_bytes()[..full.len() / 2]).unwrap();
        }

        let batch = StoreReader::open(&dir).unwrap().load();
        let names: Vec<&str> = batch.spans.iter().map(|s| s.span.name.as_str()).collect();
        assert_eq!(names, ["span-0", "span-1"]);
        assert_eq!(
            batch.spans[1].line, 4,
            "the blank line still counts as a line"
        );
        assert_eq!(batch.spans[1].file, path);

        assert_eq!(batch.issues.len(), 2, "{:?}", batch.issues);
        assert_eq!(
            (batch.issues[0].file.as_path(), batch.issues[0].line),
            (path.as_path(), 2)
        );
        assert!(
            batch.issues[0].error.starts_with("invalid OTLP-JSON"),
            "{}",
            batch.issues[0]
        );
        assert_eq!(batch.issues[1].line, 5);
        assert!(
            batch.issues[1].error.starts_with("truncated line"),
            "{}",
            batch.issues[1]
        );
    }

    #[test]
    fn files_are_read_oldest_first_and_foreign_files_ignored() {
        let dir = temp_dir("order");
        let line = |i| codec::encode_line(&request(i, 1)).unwrap();
        std::fs::write(dir.join("traces-2000-1.jsonl"), line(2)).unwrap();
        std::fs::write(dir.join("traces-1000-99.jsonl"), line(1)).unwrap();
        std::fs::write(dir.join("traces-999-5.jsonl"), line(0)).unwrap();
        std::fs::write(dir.join("README.txt"), b"not a store file").unwrap();
        let reader = StoreReader::open(&dir).unwrap();
        assert_eq!(reader.files().len(), 3);
        let names: Vec<String> = reader.spans().map(|s| s.unwrap().span.name).collect();
        assert_eq!(names, ["span-0", "span-1", "span-2"]);
    }

    #[test]
    fn spans_carry_resource_and_scope() {
        let dir = temp_dir("flatten");
        let mut writer = StoreWriter::open(&dir, StoreOptions::default()).unwrap();
        let mut req = request(0, 1);
        let extra = req.resource_spans[0].scope_spans[0].spans[0].clone();
        req.resource_spans[0].scope_spans[0].spans.push(extra);
        writer.append(&req).unwrap();
        let spans: Vec<StoredSpan> = StoreReader::open(&dir)
            .unwrap()
            .spans()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(spans.len(), 2);
        for s in &spans {
            assert_eq!(s.scope, "tokentrace");
            assert_eq!(s.resource[0].key, "service.name");
            assert_eq!(s.line, 1);
        }
    }

    #[test]
    fn missing_directory_is_not_found() {
        let dir = temp_dir("missing").join("nope");
        let err = StoreReader::open(&dir).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
