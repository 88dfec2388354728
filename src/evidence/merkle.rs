//! The global transparency log: one append-only RFC 9162 Merkle tree over every event hash.
//!
//! Hashing is RFC 9162 §2.1.1 with SHA-256: a leaf is `SHA-256(0x00 || data)`, an interior node
//! `SHA-256(0x01 || left || right)`, the empty tree `SHA-256("")`. Attesta's leaf data is the
//! 32-byte event hash ([`log_leaf_hash`]).
//!
//! Storage never has to hold the tree in memory. Everything here is computed from *perfect*
//! subtrees: a [`NodeId`] `(level, index)` names the complete, aligned subtree over leaves
//! `[index << level, (index + 1) << level)`. Such a node never changes once its last leaf is
//! appended, so a store can persist each one exactly once (what [`Frontier::append`] returns)
//! and look them up by key. Roots of other sizes and the imperfect right-edge nodes that proofs
//! need are folded from perfect ones. The `*_nodes` functions say in advance which perfect nodes
//! an operation will read, so an async store can fetch them in one query and then hand a map to
//! the synchronous proof functions.
//!
//! Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) exactly, and is
//! checked against the transparency-dev vectors and against `ct-merkle` in the tests.

use super::hash::Sha256;
use sha2::Digest as _;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// The largest tree this implementation handles. Far beyond any real log, and small enough that
/// no shift or sum below can overflow.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Sha256 {
    let mut hasher = sha2::Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    Sha256::from_bytes(hasher.finalize().into())
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Sha256, right: &Sha256) -> Sha256 {
    let mut hasher = sha2::Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left.as_bytes());
    hasher.update(right.as_bytes());
    Sha256::from_bytes(hasher.finalize().into())
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Sha256 {
    Sha256::digest(b"")
}

/// The log leaf of an event: its leaf data is the 32-byte event hash.
pub fn log_leaf_hash(event_hash: &Sha256) -> Sha256 {
    leaf_hash(event_hash.as_bytes())
}

/// A perfect subtree: the one at `level` (0 = a single leaf) covering leaves
/// `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The node that is the leaf at `index`.
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }

    /// The first leaf under this node.
    pub const fn first_leaf(self) -> u64 {
        self.index << self.level
    }

    /// How many leaves are under this node.
    pub const fn width(self) -> u64 {
        1 << self.level
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("tree size {0} is larger than supported")]
    TreeTooLarge(u64),
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("no consistency proof exists from size {old} to size {new}")]
    InvalidSizes { old: u64, new: u64 },
    #[error("the store has no node at level {}, index {}", .0.level, .0.index)]
    MissingNode(NodeId),
    #[error("the proof has more hashes than the tree sizes allow")]
    ProofTooLong,
    #[error("the proof has fewer hashes than the tree sizes need")]
    ProofTooShort,
    #[error("the proof is empty")]
    EmptyProof,
    #[error("equal tree sizes need an empty proof")]
    UnexpectedProof,
    #[error("the proof does not lead to the old root")]
    OldRootMismatch,
    #[error("the proof does not lead to the root")]
    RootMismatch,
}

/// Where perfect subtree hashes come from: a database table, a map fetched from one, or memory.
pub trait NodeSource {
    /// The hash of the perfect subtree `id`, or `None` when the source does not have it.
    fn node(&self, id: NodeId) -> Option<Sha256>;
}

impl<S: BuildHasher> NodeSource for HashMap<NodeId, Sha256, S> {
    fn node(&self, id: NodeId) -> Option<Sha256> {
        self.get(&id).copied()
    }
}

impl NodeSource for BTreeMap<NodeId, Sha256> {
    fn node(&self, id: NodeId) -> Option<Sha256> {
        self.get(&id).copied()
    }
}

impl<T: NodeSource + ?Sized> NodeSource for &T {
    fn node(&self, id: NodeId) -> Option<Sha256> {
        (**self).node(id)
    }
}

fn fetch<S: NodeSource + ?Sized>(source: &S, id: NodeId) -> Result<Sha256, ProofError> {
    source.node(id).ok_or(ProofError::MissingNode(id))
}

fn check_size(size: u64) -> Result<(), ProofError> {
    if size > MAX_TREE_SIZE { Err(ProofError::TreeTooLarge(size)) } else { Ok(()) }
}

/// The largest power of two strictly below `n`, for `n >= 2`: RFC 9162's split point `k`.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The perfect subtrees that tile `[start, end)` from left to right, each as large as its
/// alignment allows. For `[0, n)` this is the compact range: one node per set bit of `n`.
fn tiling(start: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let align = if at == 0 { 63 } else { at.trailing_zeros() };
        let fits = 63 - (end - at).leading_zeros();
        let level = align.min(fits);
        out.push(NodeId::new(level as u8, at >> level));
        at += 1 << level;
    }
    out
}

/// RFC 9162 `MTH(D[start:end])` for a range that is a node of the tree (its start is aligned to
/// a power of two at least as large as its length), folded right to left from its tiling.
fn range_hash<S: NodeSource + ?Sized>(source: &S, start: u64, end: u64) -> Result<Sha256, ProofError> {
    let tiles = tiling(start, end);
    let mut tiles = tiles.iter().rev();
    let Some(last) = tiles.next() else {
        return Ok(empty_root());
    };
    let mut acc = fetch(source, *last)?;
    for id in tiles {
        acc = node_hash(&fetch(source, *id)?, &acc);
    }
    Ok(acc)
}

/// The root of the tree of the first `size` leaves.
pub fn root<S: NodeSource + ?Sized>(source: &S, size: u64) -> Result<Sha256, ProofError> {
    check_size(size)?;
    range_hash(source, 0, size)
}

/// RFC 9162 §2.1.3.1 `PATH(index, D[0:size])`: sibling hashes from the leaf's up to the root's child.
pub fn inclusion_proof<S: NodeSource + ?Sized>(source: &S, index: u64, size: u64) -> Result<Vec<Sha256>, ProofError> {
    check_size(size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Walk down from the root, remembering the sibling range at each step; the proof lists
    // them bottom-up.
    let (mut start, mut end) = (0, size);
    let mut siblings = Vec::new();
    while end - start > 1 {
        let k = split(end - start);
        if index < start + k {
            siblings.push((start + k, end));
            end = start + k;
        } else {
            siblings.push((start, start + k));
            start += k;
        }
    }
    siblings.iter().rev().map(|&(a, b)| range_hash(source, a, b)).collect()
}

/// RFC 9162 §2.1.4.1 `PROOF(old_size, D[0:new_size])`. Equal sizes give the empty proof; a
/// proof from the empty tree is meaningless and refused.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    source: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Sha256>, ProofError> {
    check_size(new_size)?;
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::InvalidSizes { old: old_size, new: new_size });
    }
    if old_size == new_size {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[start:end], whole) unrolled from the top; each step adds one range, and the
    // proof lists them from the deepest up.
    let (mut start, mut end, mut whole) = (0, new_size, true);
    let mut ranges = Vec::new();
    loop {
        let m = old_size - start;
        if m == end - start {
            if !whole {
                ranges.push((start, end));
            }
            break;
        }
        let k = split(end - start);
        if m <= k {
            ranges.push((start + k, end));
            end = start + k;
        } else {
            ranges.push((start, start + k));
            start += k;
            whole = false;
        }
    }
    ranges.iter().rev().map(|&(a, b)| range_hash(source, a, b)).collect()
}

/// A source that answers every request with a dummy hash and remembers what was asked.
struct Recorder(RefCell<Vec<NodeId>>);

impl NodeSource for Recorder {
    fn node(&self, id: NodeId) -> Option<Sha256> {
        self.0.borrow_mut().push(id);
        Some(Sha256::from_bytes([0; 32]))
    }
}

fn record<T>(run: impl FnOnce(&Recorder) -> Result<T, ProofError>) -> Result<Vec<NodeId>, ProofError> {
    let recorder = Recorder(RefCell::new(Vec::new()));
    run(&recorder)?;
    Ok(recorder.0.into_inner())
}

/// The perfect nodes [`root`] reads for `size`: the compact range of `[0, size)`.
pub fn root_nodes(size: u64) -> Result<Vec<NodeId>, ProofError> {
    check_size(size)?;
    Ok(tiling(0, size))
}

/// The perfect nodes [`inclusion_proof`] reads for `(index, size)`; fetch these, then call it
/// with the map. At most about 2·log2(size) nodes.
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Result<Vec<NodeId>, ProofError> {
    record(|r| inclusion_proof(r, index, size))
}

/// The perfect nodes [`consistency_proof`] reads for `(old_size, new_size)`.
pub fn consistency_proof_nodes(old_size: u64, new_size: u64) -> Result<Vec<NodeId>, ProofError> {
    record(|r| consistency_proof(r, old_size, new_size))
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–4).
pub fn root_from_inclusion_proof(
    leaf_hash: &Sha256,
    index: u64,
    size: u64,
    proof: &[Sha256],
) -> Result<Sha256, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::ProofTooShort);
    }
    Ok(r)
}

/// Checks that the leaf with hash `leaf_hash` is at `index` in the tree of `size` leaves with
/// root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Sha256,
    index: u64,
    size: u64,
    proof: &[Sha256],
    root: &Sha256,
) -> Result<(), ProofError> {
    if root_from_inclusion_proof(leaf_hash, index, size, proof)? == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2). As in transparency-dev, a proof
/// from size 0 is refused as meaningless; handle the empty tree before calling.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Sha256,
    new_root: &Sha256,
    proof: &[Sha256],
) -> Result<(), ProofError> {
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::InvalidSizes { old: old_size, new: new_size });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::UnexpectedProof);
        }
        return if old_root == new_root { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    let Some((first, rest)) = proof.split_first() else {
        return Err(ProofError::EmptyProof);
    };
    // Step 1: when the old tree is a perfect subtree its root is the proof's implicit first hash.
    let (start, rest) = if old_size.is_power_of_two() { (old_root, proof) } else { (first, rest) };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*start, *start);
    for c in rest {
        if s == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The right edge of the tree: the compact range of `[0, size)`, one perfect node per set bit of
/// `size`, largest first. It is all a writer needs to append leaves and compute the new root.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Sha256>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Which perfect nodes make up the frontier of a tree of `size` leaves, to load from storage.
    pub fn node_ids(size: u64) -> Result<Vec<NodeId>, ProofError> {
        root_nodes(size)
    }

    /// Loads the frontier of a tree of `size` leaves from stored perfect nodes.
    pub fn load<S: NodeSource + ?Sized>(source: &S, size: u64) -> Result<Self, ProofError> {
        let hashes = Self::node_ids(size)?.into_iter().map(|id| fetch(source, id)).collect::<Result<_, _>>()?;
        Ok(Self { size, hashes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier's nodes, largest first.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, Sha256)> + '_ {
        tiling(0, self.size).into_iter().zip(self.hashes.iter().copied())
    }

    /// The root of the tree of `size()` leaves.
    pub fn root(&self) -> Sha256 {
        let mut hashes = self.hashes.iter().rev();
        let Some(last) = hashes.next() else {
            return empty_root();
        };
        hashes.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// Appends one leaf (give its leaf hash, e.g. [`log_leaf_hash`]) and returns the perfect
    /// nodes this completed: the leaf itself and every parent it finished. Persist exactly these;
    /// together with earlier ones they are all a store needs for roots and proofs.
    pub fn append(&mut self, leaf_hash: Sha256) -> Result<Vec<(NodeId, Sha256)>, ProofError> {
        if self.size >= MAX_TREE_SIZE {
            return Err(ProofError::TreeTooLarge(self.size + 1));
        }
        let mut id = NodeId::leaf(self.size);
        let mut hash = leaf_hash;
        let mut completed = vec![(id, hash)];
        // A right child completes its parent; the left sibling is the frontier's smallest node.
        while id.index & 1 == 1 {
            let Some(left) = self.hashes.pop() else {
                unreachable!("an odd index always has its left sibling on the frontier");
            };
            hash = node_hash(&left, &hash);
            id = NodeId::new(id.level + 1, id.index >> 1);
            completed.push((id, hash));
        }
        self.hashes.push(hash);
        self.size += 1;
        Ok(completed)
    }

    /// Appends a batch of leaves (by leaf hash) and returns every perfect node they completed,
    /// in order: what one sequencer transaction persists together with the new frontier.
    pub fn append_all(
        &mut self,
        leaf_hashes: impl IntoIterator<Item = Sha256>,
    ) -> Result<Vec<(NodeId, Sha256)>, ProofError> {
        let mut completed = Vec::new();
        for leaf in leaf_hashes {
            completed.extend(self.append(leaf)?);
        }
        Ok(completed)
    }
}

/// A whole tree in memory, holding every perfect node: for tests, tools and small logs.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Sha256>>,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Appends leaf data and returns its leaf hash.
    pub fn push(&mut self, data: &[u8]) -> Sha256 {
        let hash = leaf_hash(data);
        self.push_leaf_hash(hash);
        hash
    }

    /// Appends a leaf by its leaf hash.
    pub fn push_leaf_hash(&mut self, hash: Sha256) {
        let mut level = 0;
        let mut hash = hash;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(hash);
            if row.len() % 2 == 1 {
                break;
            }
            hash = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            level += 1;
        }
    }

    pub fn root(&self) -> Sha256 {
        root(self, self.size()).expect("an in-memory tree holds every perfect node of its size")
    }
}

impl NodeSource for MemoryTree {
    fn node(&self, id: NodeId) -> Option<Sha256> {
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(index).copied()
    }
}

#[cfg(test)]
mod tests;
