//! Tape against bincode 1.3 and postcard on one representative message.
//!
//! Each group holds every format's serialise and deserialise for one message
//! size, so criterion's report puts the numbers side by side. Deserialising
//! is measured twice: into a type that borrows its strings from the input
//! (all three formats support that, and it is what a host reading guest
//! output does) and into the owned type.
//!
//! The `bulk` groups hold one large payload each, a 64 KiB byte string and
//! 16 Ki `i32`s, beside a plain `copy_from_slice` of the same number of
//! bytes: the cost of one copy is the floor for encoding or decoding them.
//! The `i32` group also has `tape_packed`: the same `Vec<i32>` marked
//! `#[serde(with = "tape_protocol::packed")]`, the same bytes on the wire.
//!
//! The `message` groups also time `hand-written`: the same bytes encoded
//! and decoded by code written for this one message, without serde, with
//! every check Tape's decoder makes (each length against what remains,
//! payloads read to their end, UTF-8, bool and option tags, variant
//! indices). It is not a format anyone uses; it is the ceiling for this
//! wire format, and the distance between it and `tape` is what serde's
//! derived code and visitors cost.
//!
//! Quick run: `cargo bench -p tape-protocol -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use serde_bytes::{ByteBuf, Bytes};
use tape_protocol::{Decode, Encode};

#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
struct Message {
    id: u64,
    name: String,
    tags: Vec<String>,
    values: Vec<i32>,
    inner: Inner,
    maybe: Option<u32>,
    kind: Kind,
}

#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
struct Inner {
    x: f64,
    flag: bool,
    label: String,
}

#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq)]
enum Kind {
    Ping,
    Data(u32, u32),
    Closed { code: u16, reason: String },
}

/// `Message` with every string borrowed from the input.
#[derive(Deserialize, Decode, Debug, PartialEq)]
struct MessageRef<'a> {
    id: u64,
    name: &'a str,
    #[serde(borrow)]
    tags: Vec<&'a str>,
    values: Vec<i32>,
    #[serde(borrow)]
    inner: InnerRef<'a>,
    maybe: Option<u32>,
    #[serde(borrow)]
    kind: KindRef<'a>,
}

#[derive(Deserialize, Decode, Debug, PartialEq)]
struct InnerRef<'a> {
    x: f64,
    flag: bool,
    label: &'a str,
}

#[derive(Deserialize, Decode, Debug, PartialEq)]
enum KindRef<'a> {
    Ping,
    Data(u32, u32),
    Closed { code: u16, reason: &'a str },
}

fn message(values: usize) -> Message {
    Message {
        id: 0x0123_4567_89ab_cdef,
        name: "sensor-frontend".to_owned(),
        tags: vec!["alpha".to_owned(), "beta".to_owned(), "gamma".to_owned()],
        values: (0..values as i32).map(|i| i * 7 - 300).collect(),
        inner: Inner {
            x: 1.25,
            flag: true,
            label: "inner label".to_owned(),
        },
        maybe: Some(17),
        kind: Kind::Closed {
            code: 1000,
            reason: "normal".to_owned(),
        },
    }
}

/// The `hand-written` format: Tape's bytes for `Message`, without serde.
mod hand {
    use super::{Inner, InnerRef, Kind, KindRef, Message, MessageRef};

    /// The unread bytes of one payload.
    struct Reader<'a>(&'a [u8]);

    impl<'a> Reader<'a> {
        #[inline]
        fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
            let (chunk, rest) = self.0.split_first_chunk::<N>()?;
            self.0 = rest;
            Some(*chunk)
        }

        #[inline]
        fn u32(&mut self) -> Option<u32> {
            self.array().map(u32::from_le_bytes)
        }

        #[inline]
        fn slice(&mut self) -> Option<&'a [u8]> {
            let len = self.u32()? as usize;
            let (payload, rest) = self.0.split_at_checked(len)?;
            self.0 = rest;
            Some(payload)
        }

        #[inline]
        fn payload(&mut self) -> Option<Reader<'a>> {
            self.slice().map(Reader)
        }

        /// UTF-8 checked as Tape checks it: ASCII first, the full check
        /// only for other text.
        #[inline]
        fn str(&mut self) -> Option<&'a str> {
            let bytes = self.slice()?;
            if bytes.is_ascii() {
                // SAFETY: ASCII is UTF-8.
                #[allow(unsafe_code)]
                Some(unsafe { std::str::from_utf8_unchecked(bytes) })
            } else {
                std::str::from_utf8(bytes).ok()
            }
        }

        #[inline]
        fn flag(&mut self) -> Option<bool> {
            match self.array::<1>()? {
                [0] => Some(false),
                [1] => Some(true),
                _ => None,
            }
        }

        #[inline]
        fn end(&self) -> Option<()> {
            self.0.is_empty().then_some(())
        }
    }

    /// Strings borrowed from `bytes`; [`decode_owned`] copies them out.
    #[inline]
    pub fn decode_ref(bytes: &[u8]) -> Option<MessageRef<'_>> {
        let mut top = Reader(bytes);
        let mut m = top.payload()?;
        top.end()?;
        let id = u64::from_le_bytes(m.array()?);
        let name = m.str()?;
        let mut list = m.payload()?;
        let mut tags = Vec::with_capacity(list.0.len() / 4);
        while !list.0.is_empty() {
            tags.push(list.str()?);
        }
        let mut list = m.payload()?;
        let mut values = Vec::with_capacity(list.0.len() / 4);
        while !list.0.is_empty() {
            values.push(i32::from_le_bytes(list.array()?));
        }
        let mut i = m.payload()?;
        let inner = InnerRef {
            x: f64::from_le_bytes(i.array()?),
            flag: i.flag()?,
            label: i.str()?,
        };
        i.end()?;
        let mut o = m.payload()?;
        let maybe = if o.flag()? { Some(o.u32()?) } else { None };
        o.end()?;
        let mut k = m.payload()?;
        let kind = match k.u32()? {
            0 => KindRef::Ping,
            1 => {
                let mut t = k.payload()?;
                let pair = KindRef::Data(t.u32()?, t.u32()?);
                t.end()?;
                pair
            }
            2 => {
                let mut t = k.payload()?;
                let closed = KindRef::Closed {
                    code: u16::from_le_bytes(t.array()?),
                    reason: t.str()?,
                };
                t.end()?;
                closed
            }
            _ => return None,
        };
        k.end()?;
        m.end()?;
        Some(MessageRef {
            id,
            name,
            tags,
            values,
            inner,
            maybe,
            kind,
        })
    }

    pub fn decode_owned(bytes: &[u8]) -> Option<Message> {
        let m = decode_ref(bytes)?;
        Some(Message {
            id: m.id,
            name: m.name.to_owned(),
            tags: m.tags.iter().map(|&t| t.to_owned()).collect(),
            values: m.values,
            inner: Inner {
                x: m.inner.x,
                flag: m.inner.flag,
                label: m.inner.label.to_owned(),
            },
            maybe: m.maybe,
            kind: match m.kind {
                KindRef::Ping => Kind::Ping,
                KindRef::Data(a, b) => Kind::Data(a, b),
                KindRef::Closed { code, reason } => Kind::Closed {
                    code,
                    reason: reason.to_owned(),
                },
            },
        })
    }

    /// Where a payload's prefix is, to be filled in by `close`.
    fn open(out: &mut Vec<u8>) -> usize {
        out.extend_from_slice(&[0; 4]);
        out.len()
    }

    fn close(out: &mut [u8], start: usize) {
        let len = u32::try_from(out.len() - start).expect("payload fits a u32");
        out[start - 4..start].copy_from_slice(&len.to_le_bytes());
    }

    fn str(out: &mut Vec<u8>, s: &str) {
        let len = u32::try_from(s.len()).expect("string fits a u32");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    pub fn encode(m: &Message) -> Vec<u8> {
        let strings: usize =
            m.tags.iter().map(String::len).sum::<usize>() + m.name.len() + m.inner.label.len() + 64;
        let mut out = Vec::with_capacity(4 * m.tags.len() + 4 * m.values.len() + strings + 64);
        let top = open(&mut out);
        out.extend_from_slice(&m.id.to_le_bytes());
        str(&mut out, &m.name);
        let list = open(&mut out);
        for tag in &m.tags {
            str(&mut out, tag);
        }
        close(&mut out, list);
        let list = open(&mut out);
        let start = out.len();
        out.resize(start + 4 * m.values.len(), 0);
        let (slots, _) = out[start..].as_chunks_mut::<4>();
        for (slot, v) in slots.iter_mut().zip(&m.values) {
            *slot = v.to_le_bytes();
        }
        close(&mut out, list);
        let inner = open(&mut out);
        out.extend_from_slice(&m.inner.x.to_le_bytes());
        out.push(u8::from(m.inner.flag));
        str(&mut out, &m.inner.label);
        close(&mut out, inner);
        let option = open(&mut out);
        if let Some(v) = m.maybe {
            out.push(1);
            out.extend_from_slice(&v.to_le_bytes());
        } else {
            out.push(0);
        }
        close(&mut out, option);
        let kind = open(&mut out);
        match &m.kind {
            Kind::Ping => out.extend_from_slice(&0u32.to_le_bytes()),
            Kind::Data(a, b) => {
                out.extend_from_slice(&1u32.to_le_bytes());
                let t = open(&mut out);
                out.extend_from_slice(&a.to_le_bytes());
                out.extend_from_slice(&b.to_le_bytes());
                close(&mut out, t);
            }
            Kind::Closed { code, reason } => {
                out.extend_from_slice(&2u32.to_le_bytes());
                let t = open(&mut out);
                out.extend_from_slice(&code.to_le_bytes());
                str(&mut out, reason);
                close(&mut out, t);
            }
        }
        close(&mut out, kind);
        close(&mut out, top);
        out
    }
}

type EncodeFn = fn(&Message) -> Vec<u8>;
type DecodeRef = for<'a> fn(&'a [u8]) -> MessageRef<'a>;
type DecodeOwned = fn(&[u8]) -> Message;

struct Format {
    name: &'static str,
    encode: EncodeFn,
    decode_ref: DecodeRef,
    decode_owned: DecodeOwned,
}

const FORMATS: [Format; 5] = [
    Format {
        name: "tape",
        encode: |m| tape_protocol::to_vec(m).unwrap(),
        decode_ref: |b| tape_protocol::from_bytes(b).unwrap(),
        decode_owned: |b| tape_protocol::from_bytes(b).unwrap(),
    },
    Format {
        name: "bincode",
        encode: |m| bincode::serialize(m).unwrap(),
        decode_ref: |b| bincode::deserialize(b).unwrap(),
        decode_owned: |b| bincode::deserialize(b).unwrap(),
    },
    Format {
        name: "tape_derive",
        encode: |m| tape_protocol::encode(m).unwrap(),
        decode_ref: |b| tape_protocol::decode(b).unwrap(),
        decode_owned: |b| tape_protocol::decode(b).unwrap(),
    },
    Format {
        name: "hand-written",
        encode: hand::encode,
        decode_ref: |b| hand::decode_ref(b).unwrap(),
        decode_owned: |b| hand::decode_owned(b).unwrap(),
    },
    Format {
        name: "postcard",
        encode: |m| postcard::to_allocvec(m).unwrap(),
        decode_ref: |b| postcard::from_bytes(b).unwrap(),
        decode_owned: |b| postcard::from_bytes(b).unwrap(),
    },
];

fn wire(c: &mut Criterion) {
    for values in [8, 256] {
        let msg = message(values);
        let mut group = c.benchmark_group(format!("message/{values}_values"));
        // One message per iteration, so the report reads as messages/s.
        group.throughput(Throughput::Elements(1));

        let tape_bytes = tape_protocol::to_vec(&msg).unwrap();
        assert_eq!(
            hand::encode(&msg),
            tape_bytes,
            "hand-written writes Tape's bytes"
        );
        assert_eq!(
            hand::decode_ref(&tape_bytes[..tape_bytes.len() - 1]),
            None,
            "hand-written checks lengths"
        );
        for format in &FORMATS {
            let bytes = (format.encode)(&msg);
            assert_eq!(
                (format.decode_owned)(&bytes),
                msg,
                "{} round trip",
                format.name
            );
            let borrowed = (format.decode_ref)(&bytes);
            assert_eq!(
                borrowed.name, msg.name,
                "{} borrowed round trip",
                format.name
            );
            eprintln!(
                "{} encodes the {values}-value message in {} bytes",
                format.name,
                bytes.len()
            );

            group.bench_with_input(BenchmarkId::new("serialize", format.name), &msg, |b, m| {
                b.iter(|| (format.encode)(black_box(m)));
            });
            group.bench_with_input(
                BenchmarkId::new("deserialize_borrowed", format.name),
                &bytes[..],
                |b, bytes| b.iter(|| (format.decode_ref)(black_box(bytes))),
            );
            group.bench_with_input(
                BenchmarkId::new("deserialize_owned", format.name),
                &bytes[..],
                |b, bytes| b.iter(|| (format.decode_owned)(black_box(bytes))),
            );
        }

        // Reusing one buffer is how a host writes guest arguments; it takes
        // the allocation out of the serialise cost.
        let mut buffer = Vec::with_capacity(4096);
        group.bench_function(BenchmarkId::new("serialize_reused", "tape"), |b| {
            b.iter(|| {
                buffer.clear();
                tape_protocol::to_extend(black_box(&msg), &mut buffer).unwrap();
                buffer.len()
            });
        });
        group.bench_function(BenchmarkId::new("serialize_reused", "bincode"), |b| {
            b.iter(|| {
                buffer.clear();
                bincode::serialize_into(&mut buffer, black_box(&msg)).unwrap();
                buffer.len()
            });
        });
        group.bench_function(BenchmarkId::new("serialize_reused", "postcard"), |b| {
            b.iter(|| {
                buffer.clear();
                buffer = postcard::to_extend(black_box(&msg), std::mem::take(&mut buffer)).unwrap();
                buffer.len()
            });
        });
        group.finish();
    }
}

/// A byte string, written and read in one piece through `serde_bytes`.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Blob {
    data: ByteBuf,
}

#[derive(Deserialize, Debug, PartialEq)]
struct BlobRef<'a> {
    #[serde(borrow)]
    data: &'a Bytes,
}

/// A byte string as a plain `Vec<u8>`, for `#[derive(Encode, Decode)]`.
#[derive(Encode, Decode, Debug, PartialEq)]
struct PlainBlob {
    data: Vec<u8>,
}

#[derive(Decode, Debug, PartialEq)]
struct PlainBlobRef<'a> {
    data: &'a [u8],
}

/// Numbers, which serde hands over one element at a time (and
/// `#[derive(Encode, Decode)]` copies at once).
#[derive(Serialize, Deserialize, Encode, Decode, Debug, PartialEq)]
struct Numbers {
    values: Vec<i32>,
}

/// `Numbers` with the field marked `packed`: the same bytes on the wire,
/// copied in one piece.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct PackedNumbers {
    #[serde(with = "tape_protocol::packed")]
    values: Vec<i32>,
}

/// The floor for every bulk case: copying the same number of bytes into a
/// buffer that already exists.
fn bench_memcpy(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    len: usize,
) {
    let source: Vec<u8> = (0..len).map(|i| i as u8).collect();
    let mut target = vec![0u8; len];
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            target.copy_from_slice(black_box(&source));
            black_box(&target);
        });
    });
}

fn bulk(c: &mut Criterion) {
    const BYTES: usize = 64 * 1024;
    const INTS: usize = 16 * 1024;

    let blob = Blob {
        data: ByteBuf::from((0..BYTES).map(|i| (i * 31) as u8).collect::<Vec<u8>>()),
    };
    let mut group = c.benchmark_group("bulk/bytes_64KiB");
    group.throughput(Throughput::Bytes(BYTES as u64));
    bench_memcpy(&mut group, BYTES);
    macro_rules! blob_format {
        ($name:literal, $encode:expr, $($decode:ident)::+) => {{
            let bytes = $encode(&blob);
            assert_eq!(
                $($decode)::+::<Blob>(&bytes).unwrap(),
                blob,
                "{} round trip",
                $name
            );
            group.bench_function(BenchmarkId::new("serialize", $name), |b| {
                b.iter(|| $encode(black_box(&blob)))
            });
            group.bench_function(BenchmarkId::new("deserialize_borrowed", $name), |b| {
                b.iter(|| $($decode)::+::<BlobRef<'_>>(black_box(&bytes)).unwrap())
            });
            group.bench_function(BenchmarkId::new("deserialize_owned", $name), |b| {
                b.iter(|| $($decode)::+::<Blob>(black_box(&bytes)).unwrap())
            });
        }};
    }
    blob_format!(
        "tape",
        |v| tape_protocol::to_vec(v).unwrap(),
        tape_protocol::from_bytes
    );
    // The same bytes as a plain `Vec<u8>` through `#[derive(Encode, Decode)]`.
    let plain = PlainBlob {
        data: blob.data.to_vec(),
    };
    let bytes = tape_protocol::encode(&plain).unwrap();
    assert_eq!(bytes, tape_protocol::to_vec(&blob).unwrap());
    assert_eq!(tape_protocol::decode::<PlainBlob>(&bytes).unwrap(), plain);
    group.bench_function(BenchmarkId::new("serialize", "tape_derive"), |b| {
        b.iter(|| tape_protocol::encode(black_box(&plain)).unwrap())
    });
    group.bench_function(
        BenchmarkId::new("deserialize_borrowed", "tape_derive"),
        |b| b.iter(|| tape_protocol::decode::<PlainBlobRef<'_>>(black_box(&bytes)).unwrap()),
    );
    group.bench_function(BenchmarkId::new("deserialize_owned", "tape_derive"), |b| {
        b.iter(|| tape_protocol::decode::<PlainBlob>(black_box(&bytes)).unwrap())
    });
    blob_format!(
        "bincode",
        |v| bincode::serialize(v).unwrap(),
        bincode::deserialize
    );
    blob_format!(
        "postcard",
        |v| postcard::to_allocvec(v).unwrap(),
        postcard::from_bytes
    );
    group.finish();

    let numbers = Numbers {
        values: (0..INTS as i32).map(|i| i * 7 - 300).collect(),
    };
    let mut group = c.benchmark_group("bulk/i32_16Ki");
    group.throughput(Throughput::Bytes((INTS * 4) as u64));
    bench_memcpy(&mut group, INTS * 4);
    macro_rules! numbers_format {
        ($name:literal, $encode:expr, $($decode:ident)::+) => {{
            let bytes = $encode(&numbers);
            assert_eq!(
                $($decode)::+::<Numbers>(&bytes).unwrap(),
                numbers,
                "{} round trip",
                $name
            );
            group.bench_function(BenchmarkId::new("serialize", $name), |b| {
                b.iter(|| $encode(black_box(&numbers)))
            });
            group.bench_function(BenchmarkId::new("deserialize", $name), |b| {
                b.iter(|| $($decode)::+::<Numbers>(black_box(&bytes)).unwrap())
            });
        }};
    }
    numbers_format!(
        "tape",
        |v| tape_protocol::to_vec(v).unwrap(),
        tape_protocol::from_bytes
    );
    numbers_format!(
        "bincode",
        |v| bincode::serialize(v).unwrap(),
        bincode::deserialize
    );
    numbers_format!(
        "postcard",
        |v| postcard::to_allocvec(v).unwrap(),
        postcard::from_bytes
    );

    // The same plain `Vec<i32>` through `#[derive(Encode, Decode)]`.
    let bytes = tape_protocol::encode(&numbers).unwrap();
    assert_eq!(bytes, tape_protocol::to_vec(&numbers).unwrap());
    assert_eq!(tape_protocol::decode::<Numbers>(&bytes).unwrap(), numbers);
    group.bench_function(BenchmarkId::new("serialize", "tape_derive"), |b| {
        b.iter(|| tape_protocol::encode(black_box(&numbers)).unwrap())
    });
    group.bench_function(BenchmarkId::new("deserialize", "tape_derive"), |b| {
        b.iter(|| tape_protocol::decode::<Numbers>(black_box(&bytes)).unwrap())
    });

    // The same numbers through `tape_protocol::packed`, which writes the
    // bytes of the plain `tape` rows above.
    let packed = PackedNumbers {
        values: numbers.values.clone(),
    };
    let bytes = tape_protocol::to_vec(&packed).unwrap();
    assert_eq!(
        bytes,
        tape_protocol::to_vec(&numbers).unwrap(),
        "packed encodes as a plain Vec"
    );
    assert_eq!(
        tape_protocol::from_bytes::<PackedNumbers>(&bytes).unwrap(),
        packed
    );
    group.bench_function(BenchmarkId::new("serialize", "tape_packed"), |b| {
        b.iter(|| tape_protocol::to_vec(black_box(&packed)).unwrap())
    });
    group.bench_function(BenchmarkId::new("deserialize", "tape_packed"), |b| {
        b.iter(|| tape_protocol::from_bytes::<PackedNumbers>(black_box(&bytes)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, wire, bulk);
criterion_main!(benches);
