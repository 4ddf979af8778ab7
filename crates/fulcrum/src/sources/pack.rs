//! Objects read straight out of a repository's pack files, each delta chain
//! resolved through a cache of every object it produced on the way, shared
//! by the threads that read.
//!
//! gix's object database caches only the object asked for, in a cache of
//! each thread. A sync asks for thousands of versions of the same files,
//! stored as chains of deltas against each other: reading one version
//! resolves its chain from the nearest cached object down, and every
//! version on the way that was not itself asked for is inflated and applied
//! again the next time (on git/git 1.09 million delta inflations for 306,000
//! delta objects read, each applied to a copy of its base). Here every
//! object a chain produces is cached where both threads find it (they diff
//! neighbouring chunks of history): 459,000 deltas applied for 332,000
//! objects read, and a hit hands out the cached bytes without a copy.
//!
//! Objects not in a pack this module opened (loose objects, alternates, a
//! pack written after the sync began, an object larger than
//! [`MAX_OBJECT`]) are not found here: the caller reads them through gix.

use std::hash::Hash;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use fulcrum_core::model::IdMap;
use gix::ObjectId;
use gix::odb::pack::data::entry::Header;

/// An object's bytes, shared between the caches that hold it.
pub(crate) type Bytes = Arc<Vec<u8>>;

/// Objects larger than this are left to gix (which streams nothing either,
/// but has its own limits): a pack entry states its size, and a hostile one
/// must not make this module allocate whatever it claims.
pub(crate) const MAX_OBJECT: u64 = 256 * 1024 * 1024;

/// Delta chains longer than this are corrupt (git writes at most 4,095;
/// a cycle of offsets would otherwise never end).
const MAX_CHAIN: usize = 10_000;

/// The pack files of a repository, opened once and shared by the threads
/// that read them.
pub(crate) struct Packs {
    bundles: Vec<gix::odb::pack::Bundle>,
    /// Resolved objects by pack and offset, small ones and large ones
    /// apart (see [`LARGE`]). Locked only to look up and to insert, never
    /// while inflating.
    cache: Mutex<[GenerationalCache<(u32, u64)>; 2]>,
}

/// Objects above this size are cached in a tier of their own. A wide
/// directory's tree (80 KiB for 2,000 entries) changes with every commit
/// and is read again by the next diff only; sharing one cache, its versions
/// pushed out the small blobs and trees whose next versions come thousands
/// of commits later (100,000 generated commits: 871,000 deltas applied in
/// one cache of 192 MiB, 452,000 in two of 96 MiB; git/git 407,000 and
/// 394,000).
const LARGE: usize = 16 * 1024;

impl Packs {
    /// Opens every `*.idx` with its pack under `objects/pack` of the object
    /// directory `objects`, with a cache of `budget` bytes of resolved
    /// objects (half for small ones, half for large ones). A pack that
    /// cannot be opened is skipped: its objects are then read through gix,
    /// slower, never wrongly.
    pub(crate) fn open(objects: &Path, hash: gix::hash::Kind, budget: usize) -> Packs {
        let mut paths: Vec<_> = std::fs::read_dir(objects.join("pack"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "idx"))
            .collect();
        paths.sort();
        let bundles = paths.iter().filter_map(|path| gix::odb::pack::Bundle::at(path, hash).ok()).collect();
        let tiers = [GenerationalCache::new(budget / 2), GenerationalCache::new(budget / 2)];
        Packs { bundles, cache: Mutex::new(tiers) }
    }

    /// The resolved object at a pack's offset, if either tier holds it.
    fn cached(&self, key: &(u32, u64)) -> Option<(gix::objs::Kind, Bytes)> {
        let mut tiers = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        tiers[0].get(key).or_else(|| tiers[1].get(key))
    }

    /// Caches a resolved object in the tier its size belongs to.
    fn keep(&self, key: (u32, u64), kind: gix::objs::Kind, data: Bytes) {
        let tier = usize::from(data.len() > LARGE);
        let retired = self.cache.lock().unwrap_or_else(PoisonError::into_inner)[tier].insert(key, kind, data);
        // Freed with the lock released: a generation is tens of megabytes
        // of objects, and the other thread would wait for it.
        drop(retired);
    }

    /// How many packs were opened.
    pub(crate) fn len(&self) -> usize {
        self.bundles.len()
    }

    /// The pack and offset holding `id`, if one of the opened packs has it.
    fn locate(&self, id: &gix::oid) -> Option<(u32, u64)> {
        self.bundles.iter().enumerate().find_map(|(pack, bundle)| {
            let index = lookup(&bundle.index, id)?;
            Some((pack as u32, bundle.index.pack_offset_at_index(index)))
        })
    }
}

/// Where `id` is in a pack index. Object ids are spread evenly, so a
/// guess from the id's first eight bytes between the keys bounding the
/// range lands near it: a few probes, against about 22 for a binary search
/// of 4 million ids, each probe a cache miss in an index of that size
/// (600,000 generated commits: gix's binary search was 8% of the sync's
/// CPU). After [`GUESSES`] probes the rest is searched by halves, so ids
/// crowded on purpose cost at most a binary search more.
fn lookup(index: &gix::odb::pack::index::File, id: &gix::oid) -> Option<u32> {
    find_sorted(index.num_objects(), |i| index.oid_at_index(i).as_bytes(), id.as_bytes())
}

/// Probes guessed by interpolation before [`find_sorted`] halves.
const GUESSES: usize = 4;

/// The position of `id` among `len` sorted ids (`at` gives the id at a
/// position), by interpolation, then by halves.
fn find_sorted<'a>(len: u32, at: impl Fn(u32) -> &'a [u8], id: &[u8]) -> Option<u32> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let key = |bytes: &[u8]| {
        let mut first = [0u8; 8];
        let n = bytes.len().min(8);
        first[..n].copy_from_slice(&bytes[..n]);
        u64::from_be_bytes(first)
    };
    let target = key(id);
    // Every id in [lo, hi) has a key within [lo_key, hi_key].
    let (mut lo, mut hi) = (0u32, len);
    let (mut lo_key, mut hi_key) = (0u64, u64::MAX);
    for _ in 0..GUESSES {
        if lo >= hi || hi_key <= lo_key {
            break;
        }
        let span = u128::from(hi - lo);
        let guess = u128::from(target.saturating_sub(lo_key)) * span / u128::from(hi_key - lo_key);
        let probe = lo + (guess as u32).min(hi - lo - 1);
        let probed = at(probe);
        match probed.cmp(id) {
            Equal => return Some(probe),
            Less => (lo, lo_key) = (probe + 1, key(probed)),
            Greater => (hi, hi_key) = (probe, key(probed)),
        }
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match at(mid).cmp(id) {
            Equal => return Some(mid),
            Less => lo = mid + 1,
            Greater => hi = mid,
        }
    }
    None
}

/// One thread's reader: its inflater and buffers.
pub(crate) struct PackReader<'a> {
    packs: &'a Packs,
    /// Objects found in the packs, for `FULCRUM_TIMING`.
    pub(crate) found: usize,
    /// Deltas inflated and applied, for `FULCRUM_TIMING`.
    pub(crate) applied: usize,
    inflate: gix::zlib::Inflate,
    delta: Vec<u8>,
    chain: Vec<(u64, gix::odb::pack::data::Entry)>,
}

/// Why an object in a pack could not be read.
#[derive(Debug)]
pub(crate) struct PackError(pub String);

impl std::fmt::Display for PackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn corrupt(what: impl std::fmt::Display) -> PackError {
    PackError(what.to_string())
}

impl<'a> PackReader<'a> {
    pub(crate) fn new(packs: &'a Packs) -> PackReader<'a> {
        PackReader {
            packs,
            found: 0,
            applied: 0,
            inflate: gix::zlib::Inflate::default(),
            delta: Vec::new(),
            chain: Vec::new(),
        }
    }

    /// The object `id` with its kind; `Ok(None)` when no opened pack has it
    /// (or it is too large for this reader): read it through gix then.
    pub(crate) fn find(&mut self, id: &gix::oid) -> Result<Option<(gix::objs::Kind, Bytes)>, PackError> {
        let Some((pack, offset)) = self.packs.locate(id) else { return Ok(None) };
        let found = self.resolve(pack, offset, 0);
        // A chain left half-resolved by an error is not the next one's.
        self.chain.clear();
        let found = found?;
        self.found += usize::from(found.is_some());
        Ok(found)
    }

    /// Resolves the entry at `offset` of pack `pack`: down its chain to a
    /// cached object or a whole one, then up again, caching each result.
    fn resolve(&mut self, pack: u32, offset: u64, depth: usize) -> Result<Option<(gix::objs::Kind, Bytes)>, PackError> {
        let packs = self.packs;
        let data = &packs.bundles[pack as usize].pack;
        let start = self.chain.len();
        let mut cursor = offset;
        let (kind, mut object) = loop {
            if let Some(hit) = packs.cached(&(pack, cursor)) {
                break hit;
            }
            let entry = data.entry(cursor).map_err(|e| corrupt(format!("pack entry at {cursor}: {e}")))?;
            if entry.decompressed_size > MAX_OBJECT {
                self.chain.truncate(start);
                return Ok(None);
            }
            if self.chain.len() - start > MAX_CHAIN {
                return Err(corrupt(format!("a delta chain longer than {MAX_CHAIN} at {offset}")));
            }
            match entry.header {
                Header::OfsDelta { base_distance } => {
                    let base = entry
                        .checked_base_pack_offset(base_distance)
                        .ok_or_else(|| corrupt(format!("a delta base before the pack's start at {cursor}")))?;
                    self.chain.push((cursor, entry));
                    cursor = base;
                }
                Header::RefDelta { base_id } => {
                    self.chain.push((cursor, entry));
                    let index = &packs.bundles[pack as usize].index;
                    let in_pack = lookup(index, &base_id).map(|i| index.pack_offset_at_index(i));
                    match in_pack {
                        Some(base) => cursor = base,
                        // A base in another pack (rare): resolved there, once.
                        None if depth < 8 => match self.find_in_other(&base_id, depth)? {
                            Some(found) => break found,
                            None => {
                                self.chain.truncate(start);
                                return Ok(None);
                            }
                        },
                        None => return Err(corrupt(format!("delta bases nested across packs at {cursor}"))),
                    }
                }
                header => {
                    let kind = header.as_kind().ok_or_else(|| corrupt(format!("an unknown entry at {cursor}")))?;
                    let mut out = vec![0; entry.decompressed_size as usize];
                    data.decompress_entry(&entry, &mut self.inflate, &mut out)
                        .map_err(|e| corrupt(format!("pack entry at {cursor}: {e}")))?;
                    let out = Arc::new(out);
                    packs.keep((pack, cursor), kind, out.clone());
                    break (kind, out);
                }
            }
        };
        while self.chain.len() > start {
            let (at, entry) = self.chain.pop().expect("longer than start");
            self.delta.resize(entry.decompressed_size as usize, 0);
            data.decompress_entry(&entry, &mut self.inflate, &mut self.delta)
                .map_err(|e| corrupt(format!("delta at {at}: {e}")))?;
            let result = apply_delta(&object, &self.delta).map_err(|e| corrupt(format!("delta at {at}: {e}")))?;
            object = Arc::new(result);
            self.applied += 1;
            packs.keep((pack, at), kind, object.clone());
        }
        Ok(Some((kind, object)))
    }

    fn find_in_other(&mut self, id: &gix::oid, depth: usize) -> Result<Option<(gix::objs::Kind, Bytes)>, PackError> {
        let Some((pack, offset)) = self.packs.locate(id) else { return Ok(None) };
        // The chain collected so far stays below `start` of the nested call.
        self.resolve(pack, offset, depth + 1)
    }
}

/// Reads one size of a delta's header (little-endian base-128).
fn delta_size(data: &[u8], at: &mut usize) -> Result<u64, &'static str> {
    let mut size = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*at).ok_or("its header is cut short")?;
        *at += 1;
        size |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(size);
        }
    }
    Err("its header states a size beyond 64 bits")
}

/// Applies a git delta to `base`: a header with the base's and the result's
/// sizes, then instructions that copy a range of the base (high bit set;
/// the low seven bits say which offset and size bytes follow) or insert the
/// next 1–127 bytes of the delta.
pub(crate) fn apply_delta(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut at = 0;
    if delta_size(delta, &mut at)? != base.len() as u64 {
        return Err("its base is not the size it states");
    }
    let size = delta_size(delta, &mut at)?;
    if size > MAX_OBJECT {
        return Err("its result would be too large");
    }
    let mut out = Vec::with_capacity(size as usize);
    while let Some(&op) = delta.get(at) {
        at += 1;
        if op & 0x80 != 0 {
            let mut field = |bits: u8, shifts: &[u32]| -> Result<usize, &'static str> {
                let mut value = 0usize;
                for (bit, shift) in shifts.iter().enumerate() {
                    if bits & (1 << bit) != 0 {
                        let byte = *delta.get(at).ok_or("a copy is cut short")?;
                        at += 1;
                        value |= usize::from(byte) << shift;
                    }
                }
                Ok(value)
            };
            let offset = field(op & 0x0f, &[0, 8, 16, 24])?;
            let len = match field((op >> 4) & 0x07, &[0, 8, 16])? {
                0 => 0x10000,
                len => len,
            };
            let range = base.get(offset..offset.saturating_add(len)).ok_or("a copy reaches past its base")?;
            out.extend_from_slice(range);
        } else if op != 0 {
            let len = usize::from(op);
            let bytes = delta.get(at..at + len).ok_or("an insertion is cut short")?;
            at += len;
            out.extend_from_slice(bytes);
        } else {
            return Err("it has the reserved instruction 0");
        }
        if out.len() as u64 > size {
            return Err("it makes more than the size it states");
        }
    }
    if out.len() as u64 != size {
        return Err("it makes less than the size it states");
    }
    Ok(out)
}

/// One generation of a [`GenerationalCache`].
pub(crate) type Generation<K> = IdMap<K, (gix::objs::Kind, Bytes)>;

/// Two maps: new entries go to `young`; when it holds half the budget, it
/// becomes `old` and the previous `old` is dropped. A hit in `old` moves
/// back to `young`. An approximation of LRU at the cost of a hash lookup.
pub(crate) struct GenerationalCache<K> {
    young: Generation<K>,
    old: Generation<K>,
    young_bytes: usize,
    budget: usize,
}

impl<K: Hash + Eq + Copy> GenerationalCache<K> {
    pub(crate) fn new(budget: usize) -> GenerationalCache<K> {
        GenerationalCache { young: Default::default(), old: Default::default(), young_bytes: 0, budget }
    }

    /// The entry under `key`, kept (and moved to the young generation).
    pub(crate) fn get(&mut self, key: &K) -> Option<(gix::objs::Kind, Bytes)> {
        if let Some(hit) = self.young.get(key) {
            return Some(hit.clone());
        }
        let (kind, data) = self.old.remove(key)?;
        // Moved, not added: the generations together hold what they held,
        // and the next insert retires one if it is due.
        self.young_bytes += data.len();
        self.young.insert(*key, (kind, data.clone()));
        Some((kind, data))
    }

    /// The entry under `key`, left where it is.
    pub(crate) fn peek(&self, key: &K) -> Option<Bytes> {
        self.young.get(key).or_else(|| self.old.get(key)).map(|(_, data)| data.clone())
    }

    /// Takes the entry under `key` out: it will not be asked for again.
    pub(crate) fn take(&mut self, key: &K) -> Option<Bytes> {
        self.young.remove(key).or_else(|| self.old.remove(key)).map(|(_, data)| data)
    }

    /// Keeps `data` under `key`, unless it alone is over a quarter of the
    /// budget. Returns the generation this retired, if any: dropping it
    /// frees its objects (a shared cache does that outside its lock).
    pub(crate) fn insert(&mut self, key: K, kind: gix::objs::Kind, data: Bytes) -> Option<Generation<K>> {
        if data.len() > self.budget / 4 {
            return None;
        }
        self.young_bytes += data.len();
        self.young.insert(key, (kind, data));
        if self.young_bytes > self.budget / 2 {
            self.young_bytes = 0;
            return Some(std::mem::replace(&mut self.old, std::mem::take(&mut self.young)));
        }
        None
    }
}

/// The object-id keyed cache of the diff's trees and blobs uses the same
/// generations.
pub(crate) type ObjectCache = GenerationalCache<ObjectId>;

#[cfg(test)]
mod tests {
    use super::{apply_delta, find_sorted};

    /// Deterministic pseudo-random bytes (xorshift).
    fn ids(n: usize, seed: u64, crowd: impl Fn(&mut [u8; 20])) -> Vec<[u8; 20]> {
        let mut state = seed;
        let mut out: Vec<[u8; 20]> = (0..n)
            .map(|_| {
                let mut id = [0u8; 20];
                for byte in &mut id {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    *byte = state as u8;
                }
                crowd(&mut id);
                id
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    #[test]
    fn sorted_ids_are_found_where_they_are_and_absent_ones_nowhere() {
        let spread = ids(50_000, 7, |_| {});
        // Ids crowded on purpose: all but the last bytes equal, or two clumps at the ends.
        let same_prefix = ids(5_000, 11, |id| id[..12].fill(0xab));
        let clumps = ids(5_000, 13, |id| {
            let high = id[19] & 1 == 1;
            id[..9].fill(if high { 0xff } else { 0 });
        });
        for (name, sorted) in [("spread", &spread), ("same prefix", &same_prefix), ("clumps", &clumps)] {
            let at = |i: u32| sorted[i as usize].as_slice();
            for (i, id) in sorted.iter().enumerate() {
                assert_eq!(find_sorted(sorted.len() as u32, at, id), Some(i as u32), "{name}: id {i}");
            }
            let absent = ids(2_000, 99, |_| {});
            for id in absent.iter().filter(|id| sorted.binary_search(id).is_err()) {
                assert_eq!(find_sorted(sorted.len() as u32, at, id), None, "{name}: an absent id");
            }
            for edge in [[0u8; 20], [0xff; 20]] {
                assert_eq!(
                    find_sorted(sorted.len() as u32, at, &edge),
                    sorted.binary_search(&edge).ok().map(|i| i as u32)
                );
            }
        }
        // Spread ids are found in a few probes, not the 16 of a binary search.
        let probes = std::cell::Cell::new(0usize);
        let counted = |i: u32| {
            probes.set(probes.get() + 1);
            spread[i as usize].as_slice()
        };
        for id in &spread {
            find_sorted(spread.len() as u32, counted, id);
        }
        let mean = probes.get() as f64 / spread.len() as f64;
        assert!(mean < 6.0, "{mean:.1} probes an id");
        assert_eq!(find_sorted(0, |_| unreachable!("nothing to probe"), &[1; 20]), None);
        let one = [[5u8; 20]];
        assert_eq!(find_sorted(1, |i| one[i as usize].as_slice(), &[5; 20]), Some(0));
        assert_eq!(find_sorted(1, |i| one[i as usize].as_slice(), &[6; 20]), None);
    }

    /// A delta's header: base size and result size, base-128.
    fn header(base: usize, result: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for mut n in [base, result] {
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        }
        out
    }

    #[test]
    fn deltas_copy_and_insert_and_refuse_what_does_not_add_up() {
        let base = b"hello, world\n".repeat(20); // 260 bytes: sizes take two header bytes
        // Copy 5 bytes from offset 0, insert "!!", copy 6 bytes from offset 7.
        let mut delta = header(base.len(), 13);
        delta.extend_from_slice(&[0x80 | 0x10, 5, 2, b'!', b'!', 0x80 | 0x01 | 0x10, 7, 6]);
        assert_eq!(apply_delta(&base, &delta).unwrap(), b"hello!!world\n");

        // A copy of size 0 means 65,536 bytes.
        let big = vec![7u8; 70_000];
        let mut delta = header(big.len(), 0x10000);
        delta.extend_from_slice(&[0x80]);
        assert_eq!(apply_delta(&big, &delta).unwrap().len(), 0x10000);

        let refused = |delta: Vec<u8>| apply_delta(&base, &delta).unwrap_err();
        // The base is not the size the delta states.
        assert_eq!(refused(header(3, 1)), "its base is not the size it states");
        // A copy past the end of the base.
        let mut past = header(base.len(), 10);
        past.extend_from_slice(&[0x80 | 0x03 | 0x10, 0xff, 0x00, 10]);
        assert_eq!(refused(past), "a copy reaches past its base");
        // An insertion cut short, the reserved 0, too much and too little.
        let mut cut = header(base.len(), 5);
        cut.extend_from_slice(&[5, b'a']);
        assert_eq!(refused(cut), "an insertion is cut short");
        let mut zero = header(base.len(), 5);
        zero.push(0);
        assert_eq!(refused(zero), "it has the reserved instruction 0");
        let mut more = header(base.len(), 1);
        more.extend_from_slice(&[2, b'a', b'b']);
        assert_eq!(refused(more), "it makes more than the size it states");
        let mut less = header(base.len(), 3);
        less.extend_from_slice(&[1, b'a']);
        assert_eq!(refused(less), "it makes less than the size it states");
        assert_eq!(refused(vec![0x80]), "its header is cut short");
    }
}
