//! Which samples each training batch holds: class-balanced, optionally domain-balanced,
//! and a pure function of (seed, batch number) so a run can resume anywhere.
use super::loader::Sample;
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How training batches are composed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Half real, half fake (the odd one alternates between the classes).
    #[default]
    Class,
    /// As `Class`, and the fake half spread over the fake domains as evenly as possible.
    ClassDomain,
}

/// Tags that keep the random streams of one seed apart.
const STREAM_ORDER: u64 = 1;
const STREAM_BATCH: u64 = 2;

/// The RNG of batch `b`: orders the batch and draws its augmentations.
pub(crate) fn batch_rng(seed: u64, b: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(&[seed, STREAM_BATCH, b]))
}

/// SplitMix64 finaliser folded over `words`: a well-spread RNG seed from a few integers.
fn mix(words: &[u64]) -> u64 {
    words.iter().fold(0x9E37_79B9_7F4A_7C15u64, |h, &w| {
        let mut z = (h ^ w).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// Which samples batch `b` holds, computed in closed form from `b`.
///
/// Each class (and, for `ClassDomain`, each fake domain) is a stream of epochs; epoch
/// `e` of a group is its members shuffled by an RNG seeded from (seed, group, e), so
/// every member is seen once per epoch. The class counts of batch `b` alternate when
/// the batch size is odd (fake gets the extra one at even `b`), so the stream position
/// where `b` starts has a closed form. Fake slots are dealt to the fake domains round
/// robin over a cycle in which fake domain `d` holds `share(d)` slots (one each unless
/// shares are given): global fake slot `s` goes to the group at `s % L` of the cycle of
/// length `L`, position `(s / L) * share + k` for its `k`-th slot in the cycle.
#[derive(Clone)]
pub(crate) struct Sampler {
    seed: u64,
    half: u64,
    extra: u64,
    real: Group,
    fake: Vec<Group>,
    /// One round of fake slots: (group, the slot's rank among the group's slots, its share).
    cycle: Vec<(usize, u64, u64)>,
}

#[derive(Clone)]
struct Group {
    id: u64,
    members: Vec<usize>,
    /// The last two epochs' orders (a batch may straddle an epoch boundary).
    cache: Vec<(u64, Vec<usize>)>,
}

impl Group {
    fn new(id: u64, members: Vec<usize>) -> Self {
        Group {
            id,
            members,
            cache: Vec::new(),
        }
    }

    fn at(&mut self, seed: u64, pos: u64) -> usize {
        let n = self.members.len() as u64;
        let (epoch, i) = (pos / n, (pos % n) as usize);
        if let Some((_, order)) = self.cache.iter().find(|(e, _)| *e == epoch) {
            return order[i];
        }
        let mut order = self.members.clone();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(&[
            seed,
            STREAM_ORDER,
            self.id,
            epoch,
        ])));
        let picked = order[i];
        if self.cache.len() == 2 {
            self.cache.remove(0);
        }
        self.cache.push((epoch, order));
        picked
    }
}

impl Sampler {
    /// `shares` weighs fake domains against each other under `ClassDomain` (domain id ->
    /// slots per round; 1 for a domain not listed); `Class` ignores it.
    pub(crate) fn new(
        samples: &[Sample],
        batch: usize,
        balance: Balance,
        seed: u64,
        shares: &BTreeMap<usize, u32>,
    ) -> Result<Self> {
        if batch < 2 {
            return Err(Error::invalid(format!(
                "training batch size {batch} cannot hold both a real and a fake image"
            )));
        }
        let mut real = Vec::new();
        let mut fake: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, s) in samples.iter().enumerate() {
            match (s.label, balance) {
                (0, _) => real.push(i),
                (_, Balance::Class) => fake.entry(0).or_default().push(i),
                (_, Balance::ClassDomain) => fake.entry(s.domain).or_default().push(i),
            }
        }
        for (none, what) in [
            (real.is_empty(), "real (label 0)"),
            (fake.is_empty(), "fake (label 1)"),
        ] {
            if none {
                return Err(Error::invalid(format!(
                    "training needs both real (label 0) and fake (label 1) images; \
                     the manifest's train split has no {what} images"
                )));
            }
        }
        let mut cycle = Vec::new();
        for (g, domain) in fake.keys().enumerate() {
            let share = match balance {
                Balance::Class => 1,
                Balance::ClassDomain => shares.get(domain).copied().unwrap_or(1),
            };
            if share == 0 {
                return Err(Error::invalid(format!(
                    "fake domain {domain} has share 0: drop it from the methods instead"
                )));
            }
            cycle.extend((0..share as u64).map(|k| (g, k, share as u64)));
        }
        // Interleave the slots (each group's k-th slot by its fraction k / share) so that a
        // batch mixes the domains instead of taking one domain's slots in a run.
        cycle.sort_by(|a, b| (a.1 * b.2, a.0).cmp(&(b.1 * a.2, b.0)));
        Ok(Sampler {
            seed,
            half: batch as u64 / 2,
            extra: batch as u64 % 2,
            real: Group::new(0, real),
            fake: (1..)
                .zip(fake.into_values())
                .map(|(id, m)| Group::new(id, m))
                .collect(),
            cycle,
        })
    }

    pub(crate) fn indices(&mut self, b: u64) -> Vec<usize> {
        let fake_extra = if b.is_multiple_of(2) { self.extra } else { 0 };
        let (n_real, n_fake) = (self.half + self.extra - fake_extra, self.half + fake_extra);
        // Batches before `b`: ceil(b/2) even ones (fake got the extra), floor(b/2) odd ones.
        let real_start = self.half * b + self.extra * (b / 2);
        let fake_start = self.half * b + self.extra * b.div_ceil(2);
        let mut out: Vec<usize> = (real_start..real_start + n_real)
            .map(|p| self.real.at(self.seed, p))
            .collect();
        let len = self.cycle.len() as u64;
        for s in fake_start..fake_start + n_fake {
            let (g, k, share) = self.cycle[(s % len) as usize];
            out.push(self.fake[g].at(self.seed, (s / len) * share + k));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn samples(real: usize, fakes: &[(usize, usize)]) -> Vec<Sample> {
        let mut out: Vec<Sample> = (0..real)
            .map(|i| Sample {
                path: PathBuf::from(format!("r{i}")),
                label: 0,
                domain: 0,
            })
            .collect();
        for &(domain, n) in fakes {
            out.extend((0..n).map(|i| Sample {
                path: PathBuf::from(format!("f{domain}_{i}")),
                label: 1,
                domain,
            }));
        }
        out
    }

    /// Batches drawn one after another with running counters: what the closed form must equal.
    fn sequential(
        s: &[Sample],
        batch: usize,
        balance: Balance,
        seed: u64,
        shares: &BTreeMap<usize, u32>,
        n: u64,
    ) -> Vec<Vec<usize>> {
        let mut sampler = Sampler::new(s, batch, balance, seed, shares).unwrap();
        let (mut real_pos, mut fake_slot) = (0u64, 0usize);
        let mut fake_pos = vec![0u64; sampler.fake.len()];
        let mut out = Vec::new();
        for b in 0..n {
            let n_fake = if b.is_multiple_of(2) {
                batch.div_ceil(2)
            } else {
                batch / 2
            };
            let mut ids = Vec::new();
            for _ in 0..batch - n_fake {
                ids.push(sampler.real.at(seed, real_pos));
                real_pos += 1;
            }
            for _ in 0..n_fake {
                let cycle = &sampler.cycle;
                let g = cycle[fake_slot % cycle.len()].0;
                ids.push(sampler.fake[g].at(seed, fake_pos[g]));
                fake_pos[g] += 1;
                fake_slot += 1;
            }
            out.push(ids);
        }
        out
    }

    #[test]
    fn closed_form_matches_sequential_drawing() {
        let s = samples(7, &[(1, 3), (2, 5), (4, 1)]);
        let equal = BTreeMap::new();
        let weighed = BTreeMap::from([(2, 3), (4, 2)]);
        for (batch, balance, shares) in [
            (5, Balance::Class, &weighed),
            (6, Balance::ClassDomain, &equal),
            (15, Balance::ClassDomain, &equal),
            (7, Balance::ClassDomain, &weighed),
        ] {
            let want = sequential(&s, batch, balance, 11, shares, 40);
            // Fresh sampler per batch, in reverse order: no hidden state may matter.
            for b in (0..40u64).rev() {
                let mut fresh = Sampler::new(&s, batch, balance, 11, shares).unwrap();
                assert_eq!(fresh.indices(b), want[b as usize], "batch {b}");
            }
        }
    }

    #[test]
    fn shares_set_each_domains_part_of_every_round_of_fakes() {
        // Domains 1, 2, 4 with shares 1, 3, 2: every 6 fake slots hold 1, 3 and 2 of them.
        let s = samples(20, &[(1, 30), (2, 30), (4, 30)]);
        let shares = BTreeMap::from([(2, 3), (4, 2)]);
        let mut sampler = Sampler::new(&s, 12, Balance::ClassDomain, 3, &shares).unwrap();
        let fakes: Vec<usize> = (0..20)
            .flat_map(|b| sampler.indices(b).into_iter().skip(6))
            .map(|i| s[i].domain)
            .collect();
        for round in fakes.chunks(6) {
            let count = |d| round.iter().filter(|&&x| x == d).count();
            assert_eq!((count(1), count(2), count(4)), (1, 3, 2), "{round:?}");
        }
        // Interleaved: the share-3 domain never takes three slots in a row.
        assert!(fakes.windows(3).all(|w| !w.iter().all(|&d| d == 2)));
        // Without shares the round robin of one slot each is unchanged.
        let mut plain = Sampler::new(&s, 12, Balance::ClassDomain, 3, &BTreeMap::new()).unwrap();
        let doms: Vec<usize> = plain.indices(0)[6..].iter().map(|&i| s[i].domain).collect();
        assert_eq!(doms, [1, 2, 4, 1, 2, 4]);
        let zero = BTreeMap::from([(1, 0)]);
        assert!(Sampler::new(&s, 12, Balance::ClassDomain, 3, &zero).is_err());
    }

    #[test]
    fn every_member_once_per_epoch_and_epochs_reshuffled() {
        let s = samples(9, &[(1, 4)]);
        let mut sampler = Sampler::new(&s, 4, Balance::Class, 5, &BTreeMap::new()).unwrap();
        let reals: Vec<usize> = (0..45).map(|p| sampler.real.at(5, p)).collect();
        for epoch in reals.chunks(9) {
            let mut e = epoch.to_vec();
            e.sort();
            assert_eq!(e, (0..9).collect::<Vec<_>>());
        }
        assert!(reals
            .chunks(9)
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| w[0] != w[1]));
    }

    #[test]
    fn missing_class_or_tiny_batch_is_an_error() {
        let err = Sampler::new(&samples(3, &[]), 4, Balance::Class, 0, &BTreeMap::new())
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("no fake (label 1) images"),
            "{err}"
        );
        let err = Sampler::new(
            &samples(0, &[(1, 3)]),
            4,
            Balance::Class,
            0,
            &BTreeMap::new(),
        )
        .err()
        .unwrap();
        assert!(
            err.to_string().contains("no real (label 0) images"),
            "{err}"
        );
        assert!(Sampler::new(
            &samples(3, &[(1, 3)]),
            1,
            Balance::Class,
            0,
            &BTreeMap::new()
        )
        .is_err());
    }
}
