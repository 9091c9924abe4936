//! PostgreSQL's binary COPY format for the compactor: a streaming parser of the raw
//! `(series_id int8, time timestamptz, value float8)` tuples that `COPY ... TO STDOUT
//! (FORMAT binary)` sends, and the writer of `points_blocks` rows for `COPY ... FROM
//! STDIN (FORMAT binary)`. Binary COPY is the cheapest way to move rows either way:
//! no per-row protocol message, no text formatting of floats and timestamps, and no
//! per-row decoding into driver types.
//!
//! Pure: bytes in, rows out (and back); no I/O.

/// µs from the Unix epoch to PostgreSQL's epoch (2000-01-01).
const PG_EPOCH_US: i64 = 946_684_800_000_000;
const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Field count, then three fields of length + 8 bytes.
const RAW_TUPLE_BYTES: usize = 2 + 3 * (4 + 8);

/// Why a COPY stream could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CopyFormatError {
    #[error("the stream does not start with the binary COPY signature")]
    Signature,
    #[error("tuple {tuple} has {fields} fields, expected 3")]
    Fields { tuple: u64, fields: i16 },
    #[error("field {field} of tuple {tuple} is {length} bytes long, expected 8")]
    FieldLength {
        tuple: u64,
        field: usize,
        length: i32,
    },
    #[error("data after the end-of-data marker")]
    TrailingData,
    #[error("the stream ended inside the header or a tuple, or before its end marker")]
    Truncated,
}

/// Incremental parser of a binary COPY stream of raw rows; chunks can split a tuple
/// anywhere (a network read ends where it ends).
#[derive(Debug, Default)]
pub struct RawRowParser {
    /// Bytes of an incomplete header or tuple carried over to the next chunk.
    carry: Vec<u8>,
    header_done: bool,
    finished: bool,
    tuples: u64,
}

impl RawRowParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Tuples parsed so far.
    pub fn tuples(&self) -> u64 {
        self.tuples
    }

    /// Parses `chunk`, calling `row(series_id, time_us, value)` (time in µs since the
    /// Unix epoch) for every complete tuple.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut row: impl FnMut(i64, i64, f64),
    ) -> Result<(), CopyFormatError> {
        if self.carry.is_empty() {
            let used = self.parse(chunk, &mut row)?;
            self.carry.extend_from_slice(&chunk[used..]);
        } else {
            // Only a tail shorter than one tuple (or the header) is ever carried.
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(chunk);
            let used = self.parse(&joined, &mut row)?;
            joined.drain(..used);
            self.carry = joined;
        }
        Ok(())
    }

    /// Checks that the stream ended at its end-of-data marker.
    pub fn finish(&self) -> Result<u64, CopyFormatError> {
        if !self.finished || !self.carry.is_empty() {
            return Err(CopyFormatError::Truncated);
        }
        Ok(self.tuples)
    }

    /// Parses what it can of `bytes`; returns how many bytes it consumed.
    fn parse(
        &mut self,
        bytes: &[u8],
        row: &mut impl FnMut(i64, i64, f64),
    ) -> Result<usize, CopyFormatError> {
        let mut at = 0;
        if !self.header_done {
            // Signature, flags, header extension length, extension.
            if bytes.len() < 19 {
                return Ok(0);
            }
            if &bytes[..11] != SIGNATURE {
                return Err(CopyFormatError::Signature);
            }
            let extension = be_i32(&bytes[15..19]).max(0) as usize;
            if bytes.len() < 19 + extension {
                return Ok(0);
            }
            at = 19 + extension;
            self.header_done = true;
        }
        while at < bytes.len() {
            if self.finished {
                return Err(CopyFormatError::TrailingData);
            }
            let rest = &bytes[at..];
            if rest.len() < 2 {
                break;
            }
            let fields = be_i16(&rest[..2]);
            if fields == -1 {
                self.finished = true;
                at += 2;
                continue;
            }
            if fields != 3 {
                return Err(CopyFormatError::Fields {
                    tuple: self.tuples,
                    fields,
                });
            }
            if rest.len() < RAW_TUPLE_BYTES {
                break;
            }
            let mut field = [0i64; 3];
            for (k, slot) in field.iter_mut().enumerate() {
                let off = 2 + k * 12;
                let length = be_i32(&rest[off..off + 4]);
                if length != 8 {
                    return Err(CopyFormatError::FieldLength {
                        tuple: self.tuples,
                        field: k,
                        length,
                    });
                }
                *slot = i64::from_be_bytes(rest[off + 4..off + 12].try_into().expect("8 bytes"));
            }
            row(
                field[0],
                field[1] + PG_EPOCH_US,
                f64::from_bits(field[2] as u64),
            );
            self.tuples += 1;
            at += RAW_TUPLE_BYTES;
        }
        Ok(at)
    }
}

fn be_i16(b: &[u8]) -> i16 {
    i16::from_be_bytes([b[0], b[1]])
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// One `points_blocks` row, in the column order of [`COPY_BLOCKS_IN`]; times in µs
/// since the Unix epoch.
pub struct BlockRow<'a> {
    pub series_id: i64,
    pub range_start_us: i64,
    pub range_end_us: i64,
    pub min_time_us: i64,
    pub max_time_us: i64,
    pub count: i32,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub times: &'a [u8],
    pub vals: &'a [u8],
}

/// The statements the payload of [`BlockCopyWriter`] is for (day blocks, hour blocks):
/// their columns in the order the writer fills them.
pub const COPY_BLOCKS_IN: &str = "COPY points_blocks
    (series_id, range_start, range_end, min_time, max_time, count, min, max, sum, times, vals)
    FROM STDIN (FORMAT binary)";
pub const COPY_HOUR_BLOCKS_IN: &str = "COPY points_hour_blocks
    (series_id, range_start, range_end, min_time, max_time, count, min, max, sum, times, vals)
    FROM STDIN (FORMAT binary)";

/// Builds one binary COPY payload of `points_blocks` rows.
pub struct BlockCopyWriter {
    out: Vec<u8>,
}

impl BlockCopyWriter {
    /// `capacity`: bytes to reserve (the sum of the blocks' column lengths and ~110
    /// bytes a row avoids every regrowth).
    pub fn with_capacity(capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity + 21);
        out.extend_from_slice(SIGNATURE);
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        BlockCopyWriter { out }
    }

    pub fn push(&mut self, row: &BlockRow<'_>) {
        let out = &mut self.out;
        out.extend_from_slice(&11i16.to_be_bytes());
        let mut fixed = |bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
            out.extend_from_slice(bytes);
        };
        fixed(&row.series_id.to_be_bytes());
        for us in [
            row.range_start_us,
            row.range_end_us,
            row.min_time_us,
            row.max_time_us,
        ] {
            fixed(&(us - PG_EPOCH_US).to_be_bytes());
        }
        fixed(&row.count.to_be_bytes());
        for v in [row.min, row.max, row.sum] {
            fixed(&v.to_bits().to_be_bytes());
        }
        fixed(row.times);
        fixed(row.vals);
    }

    /// The payload with its end-of-data marker.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend_from_slice(&(-1i16).to_be_bytes());
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_stream(rows: &[(i64, i64, f64)]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0i32.to_be_bytes());
        // A header extension the parser must skip.
        out.extend_from_slice(&3i32.to_be_bytes());
        out.extend_from_slice(b"abc");
        for &(id, us, v) in rows {
            out.extend_from_slice(&3i16.to_be_bytes());
            for field in [id, us - PG_EPOCH_US, v.to_bits() as i64] {
                out.extend_from_slice(&8i32.to_be_bytes());
                out.extend_from_slice(&field.to_be_bytes());
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    fn parse_in_chunks(
        bytes: &[u8],
        chunk: usize,
    ) -> Result<Vec<(i64, i64, u64)>, CopyFormatError> {
        let mut parser = RawRowParser::new();
        let mut rows = Vec::new();
        for piece in bytes.chunks(chunk) {
            parser.feed(piece, |id, t, v| rows.push((id, t, v.to_bits())))?;
        }
        assert_eq!(parser.finish()?, rows.len() as u64);
        Ok(rows)
    }

    #[test]
    fn rows_come_back_bit_for_bit_however_the_stream_is_cut() {
        let rows = vec![
            (1, 1_764_547_200_000_000, 0.1),
            (-7, -5, f64::NAN),
            (i64::MAX, 0, -0.0),
            (42, 1_764_547_200_000_001, f64::MIN_POSITIVE),
            (3, PG_EPOCH_US, f64::INFINITY),
        ];
        let want: Vec<(i64, i64, u64)> = rows.iter().map(|r| (r.0, r.1, r.2.to_bits())).collect();
        let stream = raw_stream(&rows);
        for chunk in [1, 2, 3, 7, 19, 38, 39, 1000] {
            assert_eq!(
                parse_in_chunks(&stream, chunk).unwrap(),
                want,
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn an_empty_result_is_a_header_and_the_end_marker() {
        assert_eq!(parse_in_chunks(&raw_stream(&[]), 5).unwrap(), vec![]);
    }

    #[test]
    fn malformed_streams_are_errors_not_guesses() {
        let stream = raw_stream(&[(1, 2, 3.0), (4, 5, 6.0)]);
        let cut = &stream[..stream.len() - 3];
        assert_eq!(parse_in_chunks(cut, 10), Err(CopyFormatError::Truncated));
        let mut bad = stream.clone();
        bad[0] = b'X';
        assert_eq!(parse_in_chunks(&bad, 100), Err(CopyFormatError::Signature));
        let mut null = stream.clone();
        // The first tuple's value length (header 22 bytes, then 2 + 12 + 12 into it).
        null[22 + 26..22 + 30].copy_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            parse_in_chunks(&null, 100),
            Err(CopyFormatError::FieldLength {
                tuple: 0,
                field: 2,
                length: -1
            })
        );
        let mut extra = stream.clone();
        extra.extend_from_slice(&[0, 3]);
        assert_eq!(
            parse_in_chunks(&extra, 100),
            Err(CopyFormatError::TrailingData)
        );
    }

    #[test]
    fn block_rows_are_written_in_the_binary_copy_layout() {
        let mut writer = BlockCopyWriter::with_capacity(0);
        writer.push(&BlockRow {
            series_id: 9,
            range_start_us: PG_EPOCH_US,
            range_end_us: PG_EPOCH_US + 1,
            min_time_us: PG_EPOCH_US + 2,
            max_time_us: PG_EPOCH_US + 3,
            count: 2,
            min: 1.0,
            max: 2.0,
            sum: 3.0,
            times: b"tt",
            vals: b"vvv",
        });
        let out = writer.finish();
        assert_eq!(&out[..11], SIGNATURE);
        let tuple = &out[19..];
        assert_eq!(be_i16(&tuple[..2]), 11);
        assert_eq!(be_i32(&tuple[2..6]), 8);
        assert_eq!(i64::from_be_bytes(tuple[6..14].try_into().unwrap()), 9);
        // range_end: PostgreSQL µs.
        assert_eq!(i64::from_be_bytes(tuple[30..38].try_into().unwrap()), 1);
        // count is an int4.
        assert_eq!(be_i32(&tuple[62..66]), 4);
        assert_eq!(be_i32(&tuple[66..70]), 2);
        let tail = &out[out.len() - 2 - 3 - 4 - 2 - 4..];
        assert_eq!(be_i32(&tail[..4]), 2);
        assert_eq!(&tail[4..6], b"tt");
        assert_eq!(be_i32(&tail[6..10]), 3);
        assert_eq!(&tail[10..13], b"vvv");
        assert_eq!(be_i16(&tail[13..]), -1);
    }
}
