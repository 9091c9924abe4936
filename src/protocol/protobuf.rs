//! A protobuf reader over a borrowed buffer: fields as (number, value) with
//! length-delimited values as slices of the input, nothing allocated.
//!
//! remote_write decodes with it instead of prost's derived structs because a
//! `WriteRequest` is thousands of small messages (labels, samples): materialising them
//! costs an allocation or a reference count per label, more than validating them.

/// A field's value, by wire type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Why a buffer is not protobuf.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtobufError {
    #[error("truncated {0}")]
    Truncated(&'static str),
    #[error("varint longer than 10 bytes")]
    LongVarint,
    #[error("unsupported wire type {wire} (field {field})")]
    WireType { field: u64, wire: u64 },
    #[error("field number 0")]
    FieldZero,
    #[error("field {0} has an unexpected wire type")]
    Unexpected(u64),
}

/// Walks the fields of one message.
pub struct Fields<'a> {
    buf: &'a [u8],
}

impl<'a> Fields<'a> {
    pub fn new(buf: &'a [u8]) -> Fields<'a> {
        Fields { buf }
    }

    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for (i, &byte) in self.buf.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                self.buf = &self.buf[i + 1..];
                return Ok(value);
            }
        }
        if self.buf.len() < 10 {
            Err(ProtobufError::Truncated("varint"))
        } else {
            Err(ProtobufError::LongVarint)
        }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ProtobufError> {
        if self.buf.len() < n {
            return Err(ProtobufError::Truncated(what));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// The next field, or `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, ProtobufError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            return Err(ProtobufError::FieldZero);
        }
        let value = match wire {
            0 => Value::Varint(self.varint()?),
            1 => Value::Fixed64(u64::from_le_bytes(
                self.take(8, "fixed64")?.try_into().expect("8 bytes"),
            )),
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len).map_err(|_| ProtobufError::Truncated("bytes"))?;
                Value::Bytes(self.take(len, "length-delimited field")?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(
                self.take(4, "fixed32")?.try_into().expect("4 bytes"),
            )),
            // 3 and 4 are proto2 groups, which no remote_write message uses.
            _ => return Err(ProtobufError::WireType { field, wire }),
        };
        Ok(Some((field, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_wire_type_and_stops_at_the_end() {
        // field 1 varint 300, field 2 fixed64, field 3 bytes "hi", field 4 fixed32.
        let mut buf = vec![0x08, 0xac, 0x02, 0x11];
        buf.extend_from_slice(&1.5f64.to_le_bytes());
        buf.extend_from_slice(&[0x1a, 0x02, b'h', b'i', 0x25]);
        buf.extend_from_slice(&7u32.to_le_bytes());
        let mut fields = Fields::new(&buf);
        assert_eq!(fields.next_field().unwrap(), Some((1, Value::Varint(300))));
        assert_eq!(
            fields.next_field().unwrap(),
            Some((2, Value::Fixed64(1.5f64.to_bits())))
        );
        assert_eq!(fields.next_field().unwrap(), Some((3, Value::Bytes(b"hi"))));
        assert_eq!(fields.next_field().unwrap(), Some((4, Value::Fixed32(7))));
        assert_eq!(fields.next_field().unwrap(), None);
    }

    #[test]
    fn refuses_truncation_groups_and_field_zero() {
        for bad in [
            &[0x0a, 0x05, b'a'][..],
            &[0x08][..],
            &[0x08, 0x80][..],
            &[0x09, 0, 0][..],
            &[0x0b][..],
            &[0x00, 0x01][..],
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ][..],
        ] {
            let mut fields = Fields::new(bad);
            assert!(fields.next_field().is_err(), "{bad:?} accepted");
        }
    }
}
