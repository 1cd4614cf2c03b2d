//! The app half of a snapshot: app entries found by id, by AppKey and by AppCode hash, in a
//! persistent (copy-on-write) sharded index.
//!
//! Each of the three indexes is a two-level tree of `Arc`s — 64 groups of 64 leaf hash maps —
//! selected by a hash of the key. Cloning an index is one reference count; changing one app
//! copies only the paths to the leaves it touches (a 64-slot group slice, a 64-slot top slice
//! and a leaf of about n / 4096 entries), so a patch costs O(size of the change) while readers
//! keep the old version until they drop it. Entries are `Arc<AppEntry>`, shared by the three
//! indexes, so an app's data exists once.

use crate::quota::QuotaCounter;
use crate::IndexHasher;
use apigw_signing::SigningKey;
use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Groups per index and leaves per group: 64 × 64 = 4096 leaves.
const FANOUT_BITS: u32 = 6;
const FANOUT: usize = 1 << FANOUT_BITS;
const SHARD_BITS: u32 = 2 * FANOUT_BITS;

/// What an authorization names: an API in an environment, with its keyed fingerprint.
///
/// Interned: every app authorized for a published API shares the API's own target, so an
/// authorization costs one `(u64, Arc)` pair per app.
#[derive(Debug)]
pub(crate) struct AuthTarget {
    pub fp: u64,
    pub api_id: Box<str>,
    pub env_id: Box<str>,
}

impl AuthTarget {
    /// Whether `self` names `(api_id, env_id)` (the real ids, never the fingerprint alone).
    pub fn is(&self, api_id: &str, env_id: &str) -> bool {
        &*self.api_id == api_id && &*self.env_id == env_id
    }

    fn same(self: &Arc<Self>, other: &Arc<Self>) -> bool {
        Arc::ptr_eq(self, other) || other.is(&self.api_id, &self.env_id)
    }
}

/// An app as authentication and the later phases need it. It exists once per app (possibly a
/// million times), shared by the three indexes; its key and code hashes are kept so that a
/// patch can unindex them.
pub(crate) struct AppEntry {
    pub app_id: Box<str>,
    pub app_name: Box<str>,
    pub app_key: Box<str>,
    /// The AppSecret, prepared for HMAC once here rather than per signed request.
    pub signing_key: SigningKey,
    pub code_hashes: Box<[CodeHash]>,
    /// The (API, environment) pairs the app may call, sorted by fingerprint.
    pub authorized: Box<[(u64, Arc<AuthTarget>)]>,
    pub acl: Option<Box<Acl>>,
    pub quota: Option<Arc<QuotaCounter>>,
}

impl AppEntry {
    /// Whether the app holds an authorization for `target`. A fingerprint match is confirmed
    /// on the ids, so a collision never authorizes.
    pub fn may_call(&self, target: &Arc<AuthTarget>) -> bool {
        let start = self.authorized.partition_point(|(fp, _)| *fp < target.fp);
        self.authorized[start..]
            .iter()
            .take_while(|(fp, _)| *fp == target.fp)
            .any(|(_, t)| t.same(target))
    }

    /// Whether `presented` is the app's AppSecret (the `app_secret` and `app_basic` modes,
    /// which present the secret itself). Compared as HMACs under both secrets, in constant
    /// time, so the index keeps no second copy of the secret and the comparison reveals
    /// nothing through its timing; a value that breaks the AppSecret rule is nobody's secret
    /// (this also rules out the HMAC keys that are equivalent without being equal).
    pub fn secret_matches(&self, presented: &[u8]) -> bool {
        const PROOF: &[u8] = b"apigw: an AppSecret presented in clear";
        if !apigw_domain::AppSecret::is_valid(presented) {
            return false;
        }
        let expected = self.signing_key.sign(PROOF);
        let offered = SigningKey::new(presented).sign(PROOF);
        bool::from(expected.ct_eq(&offered))
    }

    /// Sorts and deduplicates authorizations into the form [`may_call`](Self::may_call) reads.
    pub fn sorted_auths(mut auths: Vec<(u64, Arc<AuthTarget>)>) -> Box<[(u64, Arc<AuthTarget>)]> {
        auths.sort_unstable_by(|(a, x), (b, y)| {
            (a, &x.api_id, &x.env_id).cmp(&(b, &y.api_id, &y.env_id))
        });
        auths.dedup_by(|(_, x), (_, y)| x.same(y));
        auths.into()
    }
}

/// An app's client-IP control, matched against the peer address.
#[derive(Debug)]
pub(crate) struct Acl {
    pub permit: bool,
    pub ranges: Box<[(IpAddr, IpAddr)]>,
}

impl Acl {
    /// Whether a call from `ip` is allowed (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let listed = self.ranges.iter().any(|&(start, end)| {
            start.is_ipv4() == ip.is_ipv4()
                && start.is_ipv4() == end.is_ipv4()
                && start <= ip
                && ip <= end
        });
        listed == self.permit
    }
}

/// An AppCode hash as a map key. HMAC outputs are uniformly distributed and an attacker
/// cannot steer them without the index key, so 8 of their bytes are already a good hash
/// (bytes 0..8 hash inside a leaf, bytes 8..10 select the leaf: independent bits).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodeHash(pub [u8; 32]);

impl CodeHash {
    fn shard(&self) -> usize {
        (usize::from(self.0[8]) << 8 | usize::from(self.0[9])) & ((1 << SHARD_BITS) - 1)
    }
}

impl Hash for CodeHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_ne_bytes(word));
    }
}

/// Passes [`CodeHash`]'s word through.
#[derive(Default, Clone)]
pub(crate) struct CodeHashHasher(u64);

impl Hasher for CodeHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = word;
    }
}

/// The leaf of a string: a fast unkeyed mix of the whole string. Only the spread over leaves
/// depends on it (each leaf map hashes with its own keyed SipHash), and ids and AppKeys are
/// generated by the management side, so an unkeyed hash is enough here.
fn str_shard(s: &str) -> usize {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = s.len() as u64;
    for chunk in s.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    h ^= h >> 29;
    (h.wrapping_mul(K) >> (64 - SHARD_BITS)) as usize
}

/// An entry indexed by its app id.
#[derive(Clone)]
struct ById(Arc<AppEntry>);

/// An entry indexed by its AppKey.
#[derive(Clone)]
struct ByKey(Arc<AppEntry>);

macro_rules! keyed_by {
    ($wrapper:ident, $field:ident) => {
        impl Borrow<str> for $wrapper {
            fn borrow(&self) -> &str {
                &self.0.$field
            }
        }
        impl Hash for $wrapper {
            fn hash<H: Hasher>(&self, state: &mut H) {
                (*self.0.$field).hash(state)
            }
        }
        impl PartialEq for $wrapper {
            fn eq(&self, other: &Self) -> bool {
                self.0.$field == other.0.$field
            }
        }
        impl Eq for $wrapper {}
    };
}
keyed_by!(ById, app_id);
keyed_by!(ByKey, app_key);

type CodeMap = HashMap<CodeHash, Arc<AppEntry>, BuildHasherDefault<CodeHashHasher>>;

/// A persistent array of 4096 leaves: `Arc`ed groups of `Arc`ed leaves.
#[derive(Clone)]
struct Sharded<M> {
    top: Arc<[Arc<[Arc<M>]>]>,
}

impl<M: Clone + Default> Sharded<M> {
    /// All leaves empty (and shared until first written).
    fn new() -> Self {
        let empty = Arc::new(M::default());
        let group: Arc<[Arc<M>]> = (0..FANOUT).map(|_| Arc::clone(&empty)).collect();
        Self {
            top: (0..FANOUT).map(|_| Arc::clone(&group)).collect(),
        }
    }

    /// Every leaf its own, made by `leaf` (for a full build that knows its size).
    fn with_leaves(leaf: impl Fn() -> M) -> Self {
        Self {
            top: (0..FANOUT)
                .map(|_| (0..FANOUT).map(|_| Arc::new(leaf())).collect())
                .collect(),
        }
    }

    fn leaf(&self, shard: usize) -> &M {
        &self.top[shard >> FANOUT_BITS][shard & (FANOUT - 1)]
    }

    /// The leaf for writing: copies the path to it where it is shared with another version.
    fn leaf_mut(&mut self, shard: usize) -> &mut M {
        let group = &mut unique(&mut self.top)[shard >> FANOUT_BITS];
        Arc::make_mut(&mut unique(group)[shard & (FANOUT - 1)])
    }

    fn leaves(&self) -> impl Iterator<Item = &M> {
        self.top.iter().flat_map(|g| g.iter().map(|l| &**l))
    }
}

/// `slice` for writing, copied first if another version shares it.
fn unique<T: Clone>(slice: &mut Arc<[T]>) -> &mut [T] {
    if Arc::get_mut(slice).is_none() {
        *slice = slice.iter().cloned().collect();
    }
    Arc::get_mut(slice).expect("just made unique")
}

/// The three app indexes and their sizes. Cloning is three reference counts.
#[derive(Clone)]
pub(crate) struct AppIndex {
    by_id: Sharded<HashSet<ById, IndexHasher>>,
    by_key: Sharded<HashSet<ByKey, IndexHasher>>,
    by_code: Sharded<CodeMap>,
    apps: usize,
    codes: usize,
}

impl AppIndex {
    pub fn new() -> Self {
        Self {
            by_id: Sharded::new(),
            by_key: Sharded::new(),
            by_code: Sharded::new(),
            apps: 0,
            codes: 0,
        }
    }

    /// Empty, with room for `apps` apps and `codes` AppCode hashes spread evenly (a full build
    /// then never grows a leaf, which would re-hash keys behind pointers).
    pub fn with_capacity(apps: usize, codes: usize) -> Self {
        if apps < 1 << SHARD_BITS {
            return Self::new();
        }
        let room = |n: usize| {
            let mean = n >> SHARD_BITS;
            mean + 4 * mean.isqrt() + 8
        };
        let (app_room, code_room) = (room(apps), room(codes));
        Self {
            by_id: Sharded::with_leaves(|| {
                HashSet::with_capacity_and_hasher(app_room, IndexHasher::default())
            }),
            by_key: Sharded::with_leaves(|| {
                HashSet::with_capacity_and_hasher(app_room, IndexHasher::default())
            }),
            by_code: Sharded::with_leaves(|| {
                CodeMap::with_capacity_and_hasher(code_room, Default::default())
            }),
            apps: 0,
            codes: 0,
        }
    }

    pub fn by_id(&self, app_id: &str) -> Option<&Arc<AppEntry>> {
        self.by_id.leaf(str_shard(app_id)).get(app_id).map(|e| &e.0)
    }

    pub fn by_key(&self, app_key: &str) -> Option<&AppEntry> {
        self.by_key
            .leaf(str_shard(app_key))
            .get(app_key)
            .map(|e| &*e.0)
    }

    pub fn by_code_hash(&self, hash: &[u8; 32]) -> Option<&AppEntry> {
        let hash = CodeHash(*hash);
        self.by_code.leaf(hash.shard()).get(&hash).map(|e| &**e)
    }

    /// Every app (for carrying quota counters over in a full rebuild).
    pub fn iter(&self) -> impl Iterator<Item = &AppEntry> {
        self.by_id.leaves().flat_map(|l| l.iter().map(|e| &*e.0))
    }

    /// (apps, distinct AppCode hashes).
    pub fn len(&self) -> (usize, usize) {
        (self.apps, self.codes)
    }

    /// Indexes `entry`. Refused (false, with a warning) when its id or AppKey belongs to an
    /// indexed app; an AppCode hash already indexed moves to `entry` (the later app wins).
    pub fn insert(&mut self, entry: Arc<AppEntry>) -> bool {
        if self.by_id(&entry.app_id).is_some() {
            tracing::warn!(app = %entry.app_id, "duplicate app id; app skipped");
            return false;
        }
        if self.by_key(&entry.app_key).is_some() {
            tracing::warn!(app = %entry.app_id, "duplicate AppKey; app skipped");
            return false;
        }
        for hash in entry.code_hashes.iter() {
            let old = self
                .by_code
                .leaf_mut(hash.shard())
                .insert(*hash, Arc::clone(&entry));
            match old {
                None => self.codes += 1,
                Some(old) if !Arc::ptr_eq(&old, &entry) => {
                    tracing::warn!(app = %entry.app_id, "AppCode hash shared by two apps; the later app wins");
                }
                Some(_) => {}
            }
        }
        self.by_key
            .leaf_mut(str_shard(&entry.app_key))
            .insert(ByKey(Arc::clone(&entry)));
        self.by_id
            .leaf_mut(str_shard(&entry.app_id))
            .insert(ById(entry));
        self.apps += 1;
        true
    }

    /// Unindexes the app `app_id` (its AppKey and the AppCode hashes it still owns); returns
    /// its entry, or `None` (touching nothing) if it is not indexed.
    // The keys hash and compare the AppKey, which never changes; the mutable part of an entry
    // (its quota counter) plays no part in them.
    #[allow(clippy::mutable_key_type)]
    pub fn remove(&mut self, app_id: &str) -> Option<Arc<AppEntry>> {
        self.by_id(app_id)?;
        let ById(entry) = self.by_id.leaf_mut(str_shard(app_id)).take(app_id)?;
        self.apps -= 1;
        let keys = self.by_key.leaf_mut(str_shard(&entry.app_key));
        if keys
            .get(&*entry.app_key)
            .is_some_and(|k| Arc::ptr_eq(&k.0, &entry))
        {
            keys.remove(&*entry.app_key);
        }
        for hash in entry.code_hashes.iter() {
            let owned = self
                .by_code
                .leaf(hash.shard())
                .get(hash)
                .is_some_and(|e| Arc::ptr_eq(e, &entry));
            if owned {
                self.by_code.leaf_mut(hash.shard()).remove(hash);
                self.codes -= 1;
            }
        }
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_shards_spread_over_all_leaves() {
        let mut used = vec![0u32; 1 << SHARD_BITS];
        for i in 0..100_000 {
            used[str_shard(&format!("app{i}"))] += 1;
        }
        assert!(used.iter().all(|&n| n > 0));
        assert!(used.iter().all(|&n| n < 80), "{:?}", used.iter().max());
    }

    #[test]
    fn a_write_copies_only_its_path() {
        let mut a: Sharded<HashSet<u32>> = Sharded::new();
        a.leaf_mut(5).insert(1);
        let mut b = a.clone();
        b.leaf_mut(4095).insert(2);
        assert!(a.leaf(5).contains(&1) && b.leaf(5).contains(&1));
        assert!(!a.leaf(4095).contains(&2) && b.leaf(4095).contains(&2));
        assert!(Arc::ptr_eq(&a.top[0], &b.top[0]));
        assert!(!Arc::ptr_eq(&a.top[63], &b.top[63]));
    }

    #[test]
    fn only_the_apps_own_secret_matches() {
        let secret = "Secret_0123456789";
        let app = AppEntry {
            app_id: "a".into(),
            app_name: "a".into(),
            app_key: "k".into(),
            signing_key: SigningKey::new(secret.as_bytes()),
            code_hashes: Box::new([]),
            authorized: Box::new([]),
            acl: None,
            quota: None,
        };
        assert!(app.secret_matches(secret.as_bytes()));
        for other in [
            "Secret_0123456788",
            "Secret_012345678",
            "Secret_0123456789 ",
            "",
        ] {
            assert!(!app.secret_matches(other.as_bytes()), "{other:?}");
        }
        // Zero padding is the same HMAC key; the AppSecret rule refuses it before the HMACs.
        assert!(!app.secret_matches(b"Secret_0123456789\0"));
        assert!(SigningKey::new(b"Secret_0123456789\0").sign(b"m") == app.signing_key.sign(b"m"));
    }
}
