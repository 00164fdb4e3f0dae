//! Little-endian packing used by AccessToken2 and 006 (`Packer.py` in Agora's SDKs).

use crate::{Error, Result};
use std::collections::BTreeMap;

/// Appends little-endian values and length-prefixed strings to a byte buffer.
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn i16(&mut self, v: i16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// `u16(len)` then the bytes. The caller has checked `len <= u16::MAX`.
    pub(crate) fn bytes(&mut self, v: &[u8]) -> Result<()> {
        let len = u16::try_from(v.len())
            .map_err(|_| Error::invalid("field", "longer than 65535 bytes"))?;
        self.u16(len);
        self.buf.extend_from_slice(v);
        Ok(())
    }

    pub(crate) fn string(&mut self, v: &str) -> Result<()> {
        self.bytes(v.as_bytes())
    }

    /// `u16(count)` then `(u16 key, u32 value)` pairs, keys ascending (a `BTreeMap` is sorted).
    pub(crate) fn map_u16_u32(&mut self, m: &BTreeMap<u16, u32>) -> Result<()> {
        let n = u16::try_from(m.len()).map_err(|_| Error::invalid("privileges", "too many"))?;
        self.u16(n);
        for (k, v) in m {
            self.u16(*k);
            self.u32(*v);
        }
        Ok(())
    }
}

/// Reads the values written by [`Writer`]; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(Error::malformed("payload is truncated"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn i16(&mut self) -> Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }

    pub(crate) fn string(&mut self) -> Result<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| Error::malformed("a string field is not UTF-8"))
    }

    pub(crate) fn map_u16_u32(&mut self) -> Result<BTreeMap<u16, u32>> {
        let n = self.u16()?;
        let mut m = BTreeMap::new();
        for _ in 0..n {
            let k = self.u16()?;
            let v = self.u32()?;
            m.insert(k, v);
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_primitive() {
        let mut w = Writer::with_capacity(16);
        w.u16(0x0102);
        w.u32(0x0304_0506);
        w.i16(-1);
        w.string("hé").unwrap();
        let m = BTreeMap::from([(3u16, 7u32), (1, 9)]);
        w.map_u16_u32(&m).unwrap();
        assert_eq!(&w.buf[..2], &[0x02, 0x01], "little-endian");
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.u16().unwrap(), 0x0102);
        assert_eq!(r.u32().unwrap(), 0x0304_0506);
        assert_eq!(r.i16().unwrap(), -1);
        assert_eq!(r.string().unwrap(), "hé");
        assert_eq!(r.map_u16_u32().unwrap(), m);
        assert_eq!(r.remaining(), 0);
        assert!(r.u16().is_err());
    }

    #[test]
    fn map_keys_are_written_ascending() {
        let mut w = Writer::with_capacity(16);
        w.map_u16_u32(&BTreeMap::from([(4u16, 1u32), (1, 2)]))
            .unwrap();
        assert_eq!(w.buf, [2, 0, 1, 0, 2, 0, 0, 0, 4, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn oversized_string_is_an_error_and_truncated_string_too() {
        let mut w = Writer::with_capacity(0);
        assert!(w.bytes(&vec![0u8; 65536]).is_err());
        let mut r = Reader::new(&[5, 0, b'a']);
        assert!(r.string().is_err());
    }
}
