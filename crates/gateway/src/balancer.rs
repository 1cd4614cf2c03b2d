//! Which server a call goes to: the one address of a plain backend, or one of a VPC channel's
//! servers ([`Balancer`]), picked by the channel's strategy among the healthy ones.
//!
//! A balancer is built with the routes, once per channel and scheme, and shared by every API
//! that uses the channel; picking reads its immutable tables and one or two atomics, never a
//! lock. Weighted round robin walks a precomputed schedule (nginx's smooth weighted order,
//! so a heavy server's turns are spread out, not bunched); the hash strategies look the
//! caller's address or the path up on a consistent-hash ring (each server's points in
//! proportion to its weight, placed by its address), so adding or removing a server moves
//! only the callers it gains or loses, and every node computes the same ring; least
//! connections compares calls in flight relative to weights. A server the health check took
//! out is skipped (the next one in the schedule, or on the ring, takes its turn); backup
//! servers take calls only while no other server is healthy.

use crate::config::{BalanceStrategy, ChannelConfig};
use crate::health::{HealthKey, MemberHealth};
use crate::upstream::PoolKey;
use http::uri::{Authority, Scheme};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

/// Longest round-robin schedule: weights whose sum (divided by their common divisor) is
/// larger are scaled down to fit, keeping every non-zero weight at least 1.
const MAX_SCHEDULE: u32 = 4096;

/// Points a server of average weight has on a hash ring (more points, a more even spread).
const RING_POINTS_PER_SERVER: u64 = 160;

/// Where a backend request goes: scheme, `host:port` and the pool of connections there.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub scheme: Scheme,
    pub authority: Authority,
    /// Which pooled connections may serve this endpoint.
    pub pool_key: PoolKey,
    /// The TLS server name when it is not the authority's host (a channel's proxy host).
    pub tls_name: Option<Box<str>>,
}

impl Endpoint {
    /// The endpoint `host:port` (IPv6 without brackets) over `scheme`; `None` if it makes no
    /// valid authority.
    pub fn new(scheme: Scheme, host: &str, port: u16, tls_name: Option<&str>) -> Option<Self> {
        let host = host.trim();
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let authority: Authority = authority.parse().ok()?;
        if authority.host().is_empty() {
            return None;
        }
        Some(Self {
            pool_key: PoolKey::new(&scheme, &authority, tls_name),
            scheme,
            authority,
            tls_name: tls_name.map(Into::into),
        })
    }
}

/// What a hash strategy hashes, read from the call only when the strategy needs it.
pub(crate) struct CallKey<'a> {
    /// The caller's address.
    pub client: IpAddr,
    /// The request's target (its path is hashed).
    pub uri: &'a http::Uri,
}

/// The server picked for a call; while it (or the [`InFlight`] taken from it) lives, the
/// call counts as in flight there.
pub(crate) struct Picked<'a> {
    pub endpoint: &'a Endpoint,
    /// Held only under least connections.
    pub in_flight: Option<InFlight>,
}

/// One call counted as in flight at a server (least connections): held by the call, then by
/// its response body until the body is sent or dropped, so a long download or stream counts
/// for as long as it occupies the server.
#[derive(Debug)]
pub struct InFlight(Arc<AtomicU32>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<'a> Picked<'a> {
    /// A plain backend's one address.
    pub fn fixed(endpoint: &'a Endpoint) -> Self {
        Self {
            endpoint,
            in_flight: None,
        }
    }
}

/// One server of a channel.
#[derive(Debug)]
struct Member {
    endpoint: Endpoint,
    weight: u32,
    backup: bool,
    health: Arc<MemberHealth>,
    /// Calls sent whose answers are not yet through (least connections): the server's own
    /// count, carried from build to build with its health.
    in_flight: Arc<AtomicU32>,
}

/// A channel's servers over one scheme, and how calls are spread over them.
#[derive(Debug)]
pub(crate) struct Balancer {
    channel_id: Box<str>,
    strategy: BalanceStrategy,
    members: Box<[Member]>,
    /// Indices of the primary members in smooth weighted round-robin order.
    primary: Box<[u16]>,
    /// The same for the backup members.
    backup: Box<[u16]>,
    /// The primary members' points on the hash ring (hash strategies), sorted by hash.
    primary_ring: Box<[(u32, u16)]>,
    /// The same for the backup members.
    backup_ring: Box<[(u32, u16)]>,
    /// Turns taken (round robin), or the start of the scan (least connections).
    turn: AtomicUsize,
}

impl Balancer {
    /// The balancer of `channel` over `scheme` (TLS server name `tls_name`); member health
    /// is taken from `healths` where a previous build had it (same channel, address and
    /// check), else started afresh (healthy, its probe started if the channel has a check).
    /// Members whose address makes no authority are left out with a warning. Round robin
    /// (and least connections' scan) starts at `first_turn`.
    pub fn new(
        channel: &ChannelConfig,
        scheme: &Scheme,
        tls_name: Option<&str>,
        healths: &mut HashMap<HealthKey, Arc<MemberHealth>>,
        first_turn: usize,
    ) -> Self {
        let mut members = Vec::with_capacity(channel.members.len());
        for m in &channel.members {
            let Some(endpoint) = Endpoint::new(scheme.clone(), &m.host, m.port, tls_name) else {
                tracing::warn!(vpc_channel = %channel.id, host = %m.host, "VPC channel member with an unusable address skipped");
                continue;
            };
            let key = HealthKey {
                channel_id: channel.id.clone(),
                member_id: m.id.clone(),
                host: m.host.clone(),
                port: m.port,
                check: channel.health_check.clone(),
            };
            let health = healths
                .entry(key)
                .or_insert_with_key(|key| MemberHealth::start(key.clone()))
                .clone();
            members.push(Member {
                endpoint,
                weight: u32::from(m.weight),
                backup: m.backup,
                in_flight: Arc::clone(health.in_flight()),
                health,
            });
        }
        let order = |backup: bool| {
            let weights: Vec<(u16, u32)> = members
                .iter()
                .enumerate()
                .filter(|(_, m)| m.backup == backup && m.weight > 0)
                .map(|(i, m)| (i as u16, m.weight))
                .collect();
            smooth_schedule(&weights).into_boxed_slice()
        };
        let hashed = matches!(
            channel.strategy,
            BalanceStrategy::SourceHash | BalanceStrategy::UriHash
        );
        let ring = |backup: bool| {
            let points: Vec<(&Authority, u32, u16)> = members
                .iter()
                .enumerate()
                .filter(|(_, m)| hashed && m.backup == backup && m.weight > 0)
                .map(|(i, m)| (&m.endpoint.authority, m.weight, i as u16))
                .collect();
            hash_ring(&points).into_boxed_slice()
        };
        Self {
            channel_id: channel.id.as_str().into(),
            strategy: channel.strategy,
            primary_ring: ring(false),
            backup_ring: ring(true),
            primary: order(false),
            backup: order(true),
            members: members.into_boxed_slice(),
            turn: AtomicUsize::new(first_turn),
        }
    }

    /// The turn the next round-robin call takes: where a rebuilt balancer of the channel goes
    /// on from.
    pub fn next_turn(&self) -> usize {
        self.turn.load(Ordering::Relaxed)
    }

    /// Every member's health, by key: what the next build carries over.
    pub fn healths(&self) -> impl Iterator<Item = (HealthKey, &Arc<MemberHealth>)> + '_ {
        self.members
            .iter()
            .map(|m| (m.health.key().clone(), &m.health))
    }

    /// The server for a call: a healthy primary by the strategy, else a healthy backup;
    /// `None` when no server is healthy (the call answers 502 `APIG.0202`).
    pub fn pick(&self, call: &CallKey<'_>) -> Option<Picked<'_>> {
        let picked = match self.strategy {
            BalanceStrategy::RoundRobin => self
                .next_in_turn(&self.primary, false)
                .or_else(|| self.next_in_turn(&self.backup, true)),
            BalanceStrategy::LeastConnections => self
                .least_loaded(&self.primary)
                .or_else(|| self.least_loaded(&self.backup)),
            BalanceStrategy::SourceHash | BalanceStrategy::UriHash => {
                let key = match self.strategy {
                    BalanceStrategy::SourceHash => ip_hash(call.client),
                    _ => mix(fnv1a(call.uri.path().as_bytes())),
                };
                self.on_ring(&self.primary_ring, key, false)
                    .or_else(|| self.on_ring(&self.backup_ring, key, true))
            }
        };
        if picked.is_none() {
            tracing::debug!(vpc_channel = %self.channel_id, "no healthy server in the VPC channel");
        }
        picked
    }

    /// Another server for a retry after `failed` failed (APIG retries on the channel's other
    /// servers): the next healthy primary after it, else a healthy backup; `None` when there
    /// is no other.
    pub fn other_than(&self, failed: &Endpoint) -> Option<&Endpoint> {
        let at = self
            .members
            .iter()
            .position(|m| std::ptr::eq(&m.endpoint, failed))?;
        let len = self.members.len();
        let candidates = || {
            (1..len)
                .map(move |i| &self.members[(at + i) % len])
                .filter(|m| m.weight > 0 && m.health.is_healthy())
        };
        candidates()
            .find(|m| !m.backup)
            .or_else(|| candidates().next())
            .map(|m| &m.endpoint)
    }

    /// The next healthy member of `schedule` (the `backup` members' or the others') in turn.
    fn next_in_turn(&self, schedule: &[u16], backup: bool) -> Option<Picked<'_>> {
        let start = self.turn.fetch_add(1, Ordering::Relaxed);
        self.first_healthy(
            schedule.len(),
            |i| schedule[(start + i) % schedule.len()],
            backup,
        )
    }

    /// The first healthy member at or after `key` on `ring` (the `backup` members' or the
    /// others'), going round.
    fn on_ring(&self, ring: &[(u32, u16)], key: u32, backup: bool) -> Option<Picked<'_>> {
        let start = ring.partition_point(|&(h, _)| h < key);
        self.first_healthy(ring.len(), |i| ring[(start + i) % ring.len()].1, backup)
    }

    /// The first healthy member of the `len` that `nth` lists in order. When the first is
    /// down and so is every other (`backup` or not) that takes calls, answers at once instead
    /// of walking the whole schedule or ring on every call.
    fn first_healthy(
        &self,
        len: usize,
        nth: impl Fn(usize) -> u16,
        backup: bool,
    ) -> Option<Picked<'_>> {
        if len == 0 {
            return None;
        }
        let member = |i: usize| &self.members[nth(i) as usize];
        let first = member(0);
        if !first.health.is_healthy() {
            let any = self
                .members
                .iter()
                .any(|m| m.backup == backup && m.weight > 0 && m.health.is_healthy());
            if !any {
                return None;
            }
        }
        (0..len)
            .map(member)
            .find(|m| m.health.is_healthy())
            .map(|m| Picked {
                endpoint: &m.endpoint,
                in_flight: None,
            })
    }

    /// The healthy member with the fewest calls in flight relative to its weight; ties go
    /// in turn.
    fn least_loaded(&self, schedule: &[u16]) -> Option<Picked<'_>> {
        let start = self.turn.fetch_add(1, Ordering::Relaxed);
        let len = schedule.len();
        let mut best: Option<(&Member, u64)> = None;
        for i in 0..len {
            let m = &self.members[schedule[(start + i) % len] as usize];
            if !m.health.is_healthy() {
                continue;
            }
            let load = u64::from(m.in_flight.load(Ordering::Relaxed));
            // load / weight < best_load / best_weight, without division.
            let better = best.is_none_or(|(b, b_load)| {
                load * u64::from(b.weight) < b_load * u64::from(m.weight)
            });
            if better {
                best = Some((m, load));
            }
        }
        let (m, _) = best?;
        m.in_flight.fetch_add(1, Ordering::Relaxed);
        Some(Picked {
            endpoint: &m.endpoint,
            in_flight: Some(InFlight(Arc::clone(&m.in_flight))),
        })
    }
}

/// The members (index, weight) in smooth weighted round-robin order: over one cycle each
/// appears in proportion to its weight, a heavy one's turns spread among the others'. Weights
/// are first divided by their greatest common divisor, and scaled to fit
/// [`MAX_SCHEDULE`].
fn smooth_schedule(weights: &[(u16, u32)]) -> Vec<u16> {
    if weights.is_empty() {
        return Vec::new();
    }
    let g = weights.iter().fold(0, |g, &(_, w)| gcd(g, w)).max(1);
    let mut weights: Vec<(u16, u32)> = weights.iter().map(|&(i, w)| (i, w / g)).collect();
    let total: u32 = weights.iter().map(|&(_, w)| w).sum();
    if total > MAX_SCHEDULE {
        for (_, w) in &mut weights {
            *w = ((u64::from(*w) * u64::from(MAX_SCHEDULE) / u64::from(total)) as u32).max(1);
        }
    }
    let total: i64 = weights.iter().map(|&(_, w)| i64::from(w)).sum();
    let mut current = vec![0_i64; weights.len()];
    let mut order = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best = 0;
        for (k, &(_, w)) in weights.iter().enumerate() {
            current[k] += i64::from(w);
            if current[k] > current[best] {
                best = k;
            }
        }
        current[best] -= total;
        order.push(weights[best].0);
    }
    order
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The hash of a caller's address (IPv4-mapped IPv6 as IPv4, so one caller hashes alike over
/// both), without allocating.
fn ip_hash(ip: IpAddr) -> u32 {
    mix(match ip.to_canonical() {
        IpAddr::V4(v4) => fnv1a(&v4.octets()),
        IpAddr::V6(v6) => fnv1a(&v6.octets()),
    })
}

/// A 64-bit hash folded to 32 well-mixed bits (the MurmurHash3 finaliser): FNV-1a of a
/// short key varies little in its high bits, and ring positions need all of them.
fn mix(mut h: u64) -> u32 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h as u32
}

/// A consistent-hash ring over members given as (address, weight, index): each has points in
/// proportion to its weight (about [`RING_POINTS_PER_SERVER`] for an average one, at least
/// one), placed by hashing its address and the point's number, so a server's points do not
/// depend on the others and are the same on every node; sorted by hash.
fn hash_ring(members: &[(&Authority, u32, u16)]) -> Vec<(u32, u16)> {
    use std::io::Write;
    let total: u64 = members.iter().map(|&(_, w, _)| u64::from(w)).sum();
    if total == 0 {
        return Vec::new();
    }
    let per_weight = RING_POINTS_PER_SERVER * members.len() as u64;
    let mut ring = Vec::new();
    for &(authority, weight, index) in members {
        let points = (u64::from(weight) * per_weight / total).max(1);
        let mut key = Vec::with_capacity(authority.as_str().len() + 6);
        for n in 0..points {
            key.clear();
            key.extend_from_slice(authority.as_str().as_bytes());
            key.push(b'#');
            let _ = write!(key, "{n}");
            ring.push((mix(fnv1a(&key)), index));
        }
    }
    ring.sort_unstable();
    ring
}

/// FNV-1a: a fixed hash, so that every node sends one caller (or path) to the same server.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ChannelMember;

    fn channel(strategy: BalanceStrategy, members: &[(&str, u16, bool)]) -> ChannelConfig {
        ChannelConfig {
            id: "c1".into(),
            strategy,
            members: members
                .iter()
                .map(|&(host, weight, backup)| ChannelMember {
                    id: format!("m-{host}"),
                    host: host.into(),
                    port: 80,
                    weight,
                    backup,
                })
                .collect(),
            health_check: None,
        }
    }

    fn balancer(c: &ChannelConfig) -> Balancer {
        Balancer::new(c, &Scheme::HTTP, None, &mut HashMap::new(), 0)
    }

    fn call(ip: &str, path: &'static str) -> CallKey<'static> {
        let uri: &'static http::Uri = Box::leak(Box::new(path.parse().unwrap()));
        CallKey {
            client: ip.parse().unwrap(),
            uri,
        }
    }

    fn host_of(p: Picked<'_>) -> String {
        p.endpoint.authority.host().to_owned()
    }

    #[test]
    fn round_robin_follows_the_weights_spread_out() {
        let c = channel(
            BalanceStrategy::RoundRobin,
            &[
                ("10.0.0.1", 5, false),
                ("10.0.0.2", 1, false),
                ("10.0.0.3", 1, false),
            ],
        );
        let b = balancer(&c);
        let picks: Vec<String> = (0..7)
            .map(|_| host_of(b.pick(&call("1.1.1.1", "/")).unwrap()))
            .collect();
        assert_eq!(picks.iter().filter(|h| *h == "10.0.0.1").count(), 5);
        assert_eq!(picks.iter().filter(|h| *h == "10.0.0.2").count(), 1);
        // Smooth: the heavy server never takes the two light ones' turns in a row of 3.
        assert_ne!(picks[..3], ["10.0.0.1", "10.0.0.1", "10.0.0.1"]);
        // The schedule repeats.
        let next: Vec<String> = (0..7)
            .map(|_| host_of(b.pick(&call("1.1.1.1", "/")).unwrap()))
            .collect();
        assert_eq!(picks, next);
    }

    #[test]
    fn unhealthy_and_zero_weight_servers_get_nothing_and_backups_only_when_all_are_down() {
        let c = channel(
            BalanceStrategy::RoundRobin,
            &[
                ("10.0.0.1", 1, false),
                ("10.0.0.2", 1, false),
                ("10.0.0.3", 0, false),
                ("10.0.0.9", 1, true),
            ],
        );
        let b = balancer(&c);
        let picks: Vec<String> = (0..4)
            .map(|_| host_of(b.pick(&call("1.1.1.1", "/")).unwrap()))
            .collect();
        assert!(
            picks.iter().all(|h| h == "10.0.0.1" || h == "10.0.0.2"),
            "{picks:?}"
        );
        b.members[0].health.set_healthy(false);
        for _ in 0..4 {
            assert_eq!(host_of(b.pick(&call("1.1.1.1", "/")).unwrap()), "10.0.0.2");
        }
        b.members[1].health.set_healthy(false);
        assert_eq!(host_of(b.pick(&call("1.1.1.1", "/")).unwrap()), "10.0.0.9");
        b.members[3].health.set_healthy(false);
        assert!(b.pick(&call("1.1.1.1", "/")).is_none());
        b.members[1].health.set_healthy(true);
        assert_eq!(host_of(b.pick(&call("1.1.1.1", "/")).unwrap()), "10.0.0.2");
    }

    #[test]
    fn hashing_keeps_a_caller_or_a_path_on_one_server_and_moves_it_only_when_that_one_is_down() {
        let members = [
            ("10.0.0.1", 1, false),
            ("10.0.0.2", 1, false),
            ("10.0.0.3", 1, false),
        ];
        let b = balancer(&channel(BalanceStrategy::SourceHash, &members));
        let first = host_of(b.pick(&call("192.0.2.7", "/a")).unwrap());
        for path in ["/b", "/c", "/d"] {
            assert_eq!(host_of(b.pick(&call("192.0.2.7", path)).unwrap()), first);
        }
        let spread: std::collections::HashSet<String> = (1..=50)
            .map(|i| host_of(b.pick(&call(&format!("192.0.2.{i}"), "/")).unwrap()))
            .collect();
        assert_eq!(spread.len(), 3, "50 callers reach every server");
        let down = b
            .members
            .iter()
            .position(|m| m.endpoint.authority.host() == first)
            .unwrap();
        b.members[down].health.set_healthy(false);
        assert_ne!(host_of(b.pick(&call("192.0.2.7", "/a")).unwrap()), first);
        for m in b.members.iter() {
            m.health.set_healthy(false);
        }
        assert!(
            b.pick(&call("192.0.2.7", "/a")).is_none(),
            "every server down"
        );

        let b = balancer(&channel(BalanceStrategy::UriHash, &members));
        let first = host_of(b.pick(&call("192.0.2.1", "/orders/1")).unwrap());
        for ip in ["192.0.2.2", "198.51.100.3", "::ffff:10.1.1.1"] {
            assert_eq!(host_of(b.pick(&call(ip, "/orders/1")).unwrap()), first);
        }
    }

    #[test]
    fn a_server_added_or_removed_moves_only_the_callers_it_gains_or_loses() {
        let five = [
            ("10.0.0.1", 1, false),
            ("10.0.0.2", 1, false),
            ("10.0.0.3", 1, false),
            ("10.0.0.4", 1, false),
            ("10.0.0.5", 1, false),
        ];
        let before = balancer(&channel(BalanceStrategy::SourceHash, &five));
        let after = balancer(&channel(BalanceStrategy::SourceHash, &five[..4]));
        let callers: Vec<String> = (0..2000)
            .map(|i| format!("198.{}.{}.{}", i % 7, i / 256, i % 256))
            .collect();
        let server = |b: &Balancer, ip: &str| host_of(b.pick(&call(ip, "/")).unwrap());
        let mut moved = 0;
        for ip in &callers {
            let (was, is) = (server(&before, ip), server(&after, ip));
            if was == "10.0.0.5" {
                moved += 1;
            } else {
                assert_eq!(was, is, "{ip} moved although its server stayed");
            }
        }
        // The removed server had about a fifth of the callers.
        assert!((250..550).contains(&moved), "{moved}");

        // Weights hold on the ring: 3:1 gives about three quarters of the callers.
        let weighted = balancer(&channel(
            BalanceStrategy::SourceHash,
            &[("10.0.0.1", 3, false), ("10.0.0.2", 1, false)],
        ));
        let heavy = callers
            .iter()
            .filter(|ip| server(&weighted, ip) == "10.0.0.1")
            .count();
        assert!((1300..1700).contains(&heavy), "{heavy}");
    }

    #[test]
    fn least_connections_prefers_the_least_loaded_relative_to_weight() {
        let b = balancer(&channel(
            BalanceStrategy::LeastConnections,
            &[("10.0.0.1", 2, false), ("10.0.0.2", 1, false)],
        ));
        let a = b.pick(&call("1.1.1.1", "/")).unwrap();
        let second = b.pick(&call("1.1.1.1", "/")).unwrap();
        let third = b.pick(&call("1.1.1.1", "/")).unwrap();
        // With weights 2:1 the heavy server holds two calls while the light one holds one.
        let mut hosts = vec![host_of_ref(&a), host_of_ref(&second), host_of_ref(&third)];
        hosts.sort();
        assert_eq!(hosts, ["10.0.0.1", "10.0.0.1", "10.0.0.2"]);
        assert_eq!(b.members[0].in_flight.load(Ordering::Relaxed), 2);
        drop((a, second, third));
        assert_eq!(b.members[0].in_flight.load(Ordering::Relaxed), 0);
        assert_eq!(b.members[1].in_flight.load(Ordering::Relaxed), 0);
        // The count taken from a pick (what a response body holds) outlives the pick.
        let body_holds = b.pick(&call("1.1.1.1", "/")).unwrap().in_flight;
        let in_flight = |i: usize| b.members[i].in_flight.load(Ordering::Relaxed);
        assert_eq!(in_flight(0) + in_flight(1), 1);
        drop(body_holds);
        assert_eq!(in_flight(0) + in_flight(1), 0);
    }

    #[test]
    fn calls_in_flight_count_across_a_routing_rebuild() {
        let c = channel(
            BalanceStrategy::LeastConnections,
            &[("10.0.0.1", 1, false), ("10.0.0.2", 1, false)],
        );
        let first = Balancer::new(&c, &Scheme::HTTP, None, &mut HashMap::new(), 0);
        let held = first.pick(&call("1.1.1.1", "/")).unwrap();
        let busy = host_of_ref(&held);
        let mut carried: HashMap<HealthKey, Arc<MemberHealth>> = first
            .healths()
            .map(|(key, health)| (key, Arc::clone(health)))
            .collect();
        let second = Balancer::new(&c, &Scheme::HTTP, None, &mut carried, 0);
        for _ in 0..3 {
            let next = second.pick(&call("1.1.1.1", "/")).unwrap();
            assert_ne!(
                host_of_ref(&next),
                busy,
                "the rebuilt balancer sees the call"
            );
        }
        drop(held);
        let total: u32 = second
            .members
            .iter()
            .map(|m| m.in_flight.load(Ordering::Relaxed))
            .sum();
        assert_eq!(total, 0);
    }

    #[test]
    fn a_retry_goes_to_another_healthy_server() {
        let b = balancer(&channel(
            BalanceStrategy::RoundRobin,
            &[
                ("10.0.0.1", 1, false),
                ("10.0.0.2", 1, false),
                ("10.0.0.3", 1, true),
            ],
        ));
        let host = |e: &Endpoint| e.authority.host().to_owned();
        let first = &b.members[0].endpoint;
        assert_eq!(host(b.other_than(first).unwrap()), "10.0.0.2");
        assert_eq!(
            host(b.other_than(&b.members[1].endpoint).unwrap()),
            "10.0.0.1"
        );
        b.members[1].health.set_healthy(false);
        assert_eq!(
            host(b.other_than(first).unwrap()),
            "10.0.0.3",
            "then a backup"
        );
        b.members[2].health.set_healthy(false);
        assert!(b.other_than(first).is_none());
    }

    fn host_of_ref(p: &Picked<'_>) -> String {
        p.endpoint.authority.host().to_owned()
    }

    #[test]
    fn schedules_scale_down_huge_weights_and_divide_common_factors() {
        assert_eq!(smooth_schedule(&[(0, 300), (1, 100)]).len(), 4);
        let big = smooth_schedule(&[(0, 10_000), (1, 9_999), (2, 1)]);
        assert!(big.len() <= MAX_SCHEDULE as usize + 3, "{}", big.len());
        assert!(big.contains(&2), "a weight of 1 keeps a turn");
        assert!(smooth_schedule(&[]).is_empty());
    }
}
