//! Decoding allocates in proportion to the input, never to what its length
//! prefixes claim. A counting global allocator measures the peak number of
//! bytes held during each decode, on the measuring thread only, so tests
//! running in parallel do not disturb each other.

// `GlobalAlloc` is an unsafe trait; implementing it is the only way to see
// every allocation the decoder makes. The implementation only forwards to
// `System` and updates thread-local counters.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::Deserialize;
use serde_bytes::ByteBuf;
use tape_protocol::{Error, from_bytes};

use crate::props::{Outer, Record, Shape, Tree, mutate, mutation, valid_outer};

struct Counting;

thread_local! {
    // Const-initialised cells without destructors: reading them never
    // allocates, which would recurse into the allocator.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn record(delta: isize) {
    let _ = ACTIVE.try_with(|active| {
        if active.get() {
            let now = CURRENT.with(|c| {
                c.set(c.get() + delta);
                c.get()
            });
            PEAK.with(|p| p.set(p.get().max(now)));
        }
    });
}

fn size(layout: Layout) -> isize {
    isize::try_from(layout.size()).unwrap_or(isize::MAX)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(size(layout));
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // Forwarded rather than left to the default, which would write
        // zeroes over lazily mapped pages (see `errors::payload_over_u32_max`).
        record(size(layout));
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(-size(layout));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Count the new block before releasing the old one: a moving
        // reallocation holds both for a moment.
        record(isize::try_from(new_size).unwrap_or(isize::MAX));
        record(-size(layout));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the peak number of bytes that it
/// had allocated at any one time on this thread.
fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    CURRENT.with(|c| c.set(0));
    PEAK.with(|p| p.set(0));
    ACTIVE.with(|a| a.set(true));
    let result = f();
    ACTIVE.with(|a| a.set(false));
    (result, PEAK.with(Cell::get).try_into().unwrap_or(0))
}

/// The most that decoding `input` may allocate, for a target type whose
/// largest sequence element takes `element` bytes in memory.
///
/// Only the input's length counts, never what its prefixes claim. Every 4
/// input bytes (the least a sequence element takes, bar 1- and 2-byte
/// numbers) may bring one element's worth of capacity hint, and a one-element
/// `Vec` reserves room for 4, its minimum capacity: together up to about
/// `element` bytes per input byte. What elements own themselves (string
/// bytes, map nodes, `Vec` doubling for the small numbers) is covered by 32
/// bytes per input byte.
fn budget(input: &[u8], element: usize) -> usize {
    input.len() * (element + 32) + 1024
}

fn peak_decoding<'de, T: Deserialize<'de>>(input: &'de [u8]) -> usize {
    let (result, peak) = peak_during(|| from_bytes::<T>(input).map(drop));
    drop(result);
    peak
}

/// A 4-byte prefix claiming `claim` bytes, followed by a few real ones.
fn claiming(claim: u32) -> Vec<u8> {
    let mut input = claim.to_le_bytes().to_vec();
    input.extend_from_slice(b"abcdefgh");
    input
}

#[test]
fn the_counter_sees_allocations() {
    let (v, peak) = peak_during(|| vec![0u8; 1000]);
    assert_eq!(v.len(), 1000);
    assert!(peak >= 1000, "peak {peak}");
}

#[test]
fn huge_claims_allocate_nothing() {
    for claim in [0xffff_fff0, u32::MAX, 0x8000_0000, 9] {
        let input = claiming(claim);
        let peaks = [
            ("String", peak_decoding::<String>(&input)),
            ("ByteBuf", peak_decoding::<ByteBuf>(&input)),
            ("Vec<u8>", peak_decoding::<Vec<u8>>(&input)),
            ("Vec<String>", peak_decoding::<Vec<String>>(&input)),
            ("Vec<Vec<u64>>", peak_decoding::<Vec<Vec<u64>>>(&input)),
            (
                "BTreeMap",
                peak_decoding::<BTreeMap<String, String>>(&input),
            ),
            ("Outer", peak_decoding::<Outer>(&input)),
        ];
        for (name, peak) in peaks {
            assert_eq!(peak, 0, "{name} claiming {claim:#x} bytes allocated {peak}");
        }
    }
}

#[test]
fn huge_claims_nested_inside_valid_containers_allocate_little() {
    // A sequence of 3 strings whose last one claims 0xfffffff0 bytes: the
    // decoder may hold the first two, but must not reserve the claim.
    let mut input = vec![0x12, 0, 0, 0];
    input.extend_from_slice(&[1, 0, 0, 0, b'a', 1, 0, 0, 0, b'b']);
    input.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    input.extend_from_slice(b"cdef");
    assert!(matches!(
        from_bytes::<Vec<String>>(&input),
        Err(Error::LengthOutOfRange { offset: 14, .. })
    ));
    let peak = peak_decoding::<Vec<String>>(&input);
    assert!(peak <= 256, "peak {peak}");

    // The same claim as the element count of an inner sequence.
    let mut input = vec![0x0c, 0, 0, 0];
    input.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    input.extend_from_slice(&[0; 8]);
    let peak = peak_decoding::<Vec<Vec<u64>>>(&input);
    assert!(peak <= 256, "peak {peak}");
}

#[test]
fn valid_input_allocates_about_what_it_decodes_to() {
    let data: Vec<u8> = (0..=255).cycle().take(1 << 20).collect();
    let input = tape_protocol::to_vec(&data).unwrap();
    // Without a size hint the vector grows by doubling: at most twice the
    // final size, plus the block being moved out of during a reallocation.
    let peak = peak_decoding::<Vec<u8>>(&input);
    assert!(peak >= data.len(), "peak {peak}");
    assert!(peak <= 3 * input.len(), "peak {peak}");

    let input = tape_protocol::to_vec(&ByteBuf::from(data.clone())).unwrap();
    let peak = peak_decoding::<ByteBuf>(&input);
    assert!(
        peak <= input.len() + 64,
        "one exact allocation, peak {peak}"
    );

    let peak = peak_decoding::<&serde_bytes::Bytes>(&input);
    assert_eq!(peak, 0, "borrowing allocates nothing");
}

#[test]
fn densest_inputs_stay_within_budget() {
    // 4096 empty strings, or 4096 empty sequences: 4 bytes each.
    let mut input = (4 * 4096u32).to_le_bytes().to_vec();
    input.resize(4 + 4 * 4096, 0);
    for (name, peak, element) in [
        (
            "Vec<String>",
            peak_decoding::<Vec<String>>(&input),
            size_of::<String>(),
        ),
        (
            "Vec<Vec<u32>>",
            peak_decoding::<Vec<Vec<u32>>>(&input),
            size_of::<Vec<u32>>(),
        ),
        (
            "Vec<Tree>",
            peak_decoding::<Vec<Tree>>(&input),
            size_of::<Tree>(),
        ),
    ] {
        assert!(
            peak <= budget(&input, element),
            "{name}: peak {peak} for {} bytes",
            input.len()
        );
    }
}

/// A sequence of itself: each level is one prefix.
#[derive(Deserialize)]
struct Deep(#[allow(dead_code)] Vec<Deep>);

#[test]
fn nested_sequences_share_one_hint_budget() {
    // 128 levels of one-element sequences. Each level's payload is most of
    // the input, so hints taken per level without a shared budget would add
    // up to about 64 times the input in elements.
    let levels = 128u32;
    let mut input = Vec::new();
    for level in 0..levels {
        input.extend_from_slice(&((levels - 1 - level) * 4).to_le_bytes());
    }
    let (result, peak) = peak_during(|| from_bytes::<Deep>(&input).map(drop));
    result.unwrap();
    assert!(
        peak <= budget(&input, size_of::<Deep>()),
        "peak {peak} for {} bytes",
        input.len()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_bytes_allocate_within_budget(
        bytes in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        let record_element = size_of::<Shape>().max(size_of::<Tree>());
        for (peak, element) in [
            (peak_decoding::<Outer>(&bytes), size_of::<Option<Record>>()),
            (peak_decoding::<Record>(&bytes), record_element),
            (peak_decoding::<Vec<String>>(&bytes), size_of::<String>()),
            (peak_decoding::<Vec<Shape>>(&bytes), size_of::<Shape>()),
            (peak_decoding::<BTreeMap<String, Vec<u8>>>(&bytes), size_of::<(String, Vec<u8>)>()),
        ] {
            prop_assert!(
                peak <= budget(&bytes, element),
                "peak {} for {} bytes", peak, bytes.len()
            );
        }
    }

    #[test]
    fn mutated_encodings_allocate_within_budget(
        mut bytes in valid_outer(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        mutate(&mut bytes, &mutations);
        let peak = peak_decoding::<Outer>(&bytes);
        prop_assert!(
            peak <= budget(&bytes, size_of::<Option<Record>>()),
            "peak {} for {} bytes", peak, bytes.len()
        );
    }
}

/// `peak_decoding` through `#[derive(Decode)]`.
fn peak_decoding_derived<'de, T: tape_protocol::Decode<'de>>(input: &'de [u8]) -> usize {
    let (result, peak) = peak_during(|| tape_protocol::decode::<T>(input).map(drop));
    drop(result);
    peak
}

/// A sequence of itself, derived.
#[derive(tape_protocol::Decode)]
struct DeepDerived(#[allow(dead_code)] Vec<DeepDerived>);

/// The derive is held to the same bounds as the serde path.
#[test]
fn the_derive_allocates_within_the_same_bounds() {
    use crate::codec;
    for claim in [0xffff_fff0, u32::MAX, 0x8000_0000, 9] {
        let input = claiming(claim);
        for (name, peak) in [
            ("String", peak_decoding_derived::<String>(&input)),
            ("Vec<u8>", peak_decoding_derived::<Vec<u8>>(&input)),
            ("Vec<String>", peak_decoding_derived::<Vec<String>>(&input)),
            (
                "Vec<Vec<u64>>",
                peak_decoding_derived::<Vec<Vec<u64>>>(&input),
            ),
            ("Record", peak_decoding_derived::<codec::Record>(&input)),
        ] {
            assert_eq!(peak, 0, "{name} claiming {claim:#x} bytes allocated {peak}");
        }
    }

    let mut dense = (4 * 4096u32).to_le_bytes().to_vec();
    dense.resize(4 + 4 * 4096, 0);
    for (name, peak, element) in [
        (
            "Vec<String>",
            peak_decoding_derived::<Vec<String>>(&dense),
            size_of::<String>(),
        ),
        (
            "Vec<Vec<u32>>",
            peak_decoding_derived::<Vec<Vec<u32>>>(&dense),
            size_of::<Vec<u32>>(),
        ),
        (
            "Vec<Tree>",
            peak_decoding_derived::<Vec<codec::Tree>>(&dense),
            size_of::<codec::Tree>(),
        ),
    ] {
        assert!(
            peak <= budget(&dense, element),
            "{name}: peak {peak} for {} bytes",
            dense.len()
        );
    }

    let levels = 128u32;
    let mut deep = Vec::new();
    for level in 0..levels {
        deep.extend_from_slice(&((levels - 1 - level) * 4).to_le_bytes());
    }
    let (result, peak) = peak_during(|| tape_protocol::decode::<DeepDerived>(&deep).map(drop));
    result.unwrap();
    assert!(
        peak <= budget(&deep, size_of::<DeepDerived>()),
        "peak {peak}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_allocate_within_budget_through_the_derive(
        bytes in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        use crate::codec;
        let record_element = size_of::<codec::Shape>().max(size_of::<codec::Tree>());
        for (peak, element) in [
            (peak_decoding_derived::<codec::Record>(&bytes), record_element),
            (peak_decoding_derived::<Vec<String>>(&bytes), size_of::<String>()),
            (peak_decoding_derived::<Vec<codec::Shape>>(&bytes), size_of::<codec::Shape>()),
            (
                peak_decoding_derived::<BTreeMap<String, Vec<u8>>>(&bytes),
                size_of::<(String, Vec<u8>)>(),
            ),
        ] {
            prop_assert!(
                peak <= budget(&bytes, element),
                "peak {} for {} bytes", peak, bytes.len()
            );
        }
    }
}
