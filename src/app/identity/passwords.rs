//! Argon2id password hashing on a small pool of dedicated, low-priority threads.
//!
//! A hash costs tens of milliseconds of CPU and ~19 MiB. Running them on Tokio's
//! workers would stall every other request; on the blocking pool they still
//! compete equally for the CPU and each new blocking thread keeps its own 19 MiB
//! malloc arena. So hashing gets *cores − 1* threads of its own (at least one),
//! in the idle scheduling class: under a burst of sign-ins, the cheap requests
//! still get the CPU first, and memory stays bounded.
//!
//! Each thread also keeps its Argon2 working memory between hashes. Allocating
//! and freeing 19 MiB per sign-in means thousands of page faults (the kernel
//! zeroes every page) and, on `munmap`, TLB shootdowns that interrupt the
//! request threads on the other cores.

use std::cell::RefCell;
use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

use crate::app::errors::AppError;
use crate::domain::user::Password;

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// This hash thread's Argon2 working memory, grown to the largest cost seen.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 of `password` and raw `salt` into `out`, in the calling thread's
/// reused working memory.
fn argon2_into(
    argon: &Argon2,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    BLOCKS.with_borrow_mut(|blocks| {
        if blocks.len() < params.block_count() {
            blocks.resize(params.block_count(), Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..])
    })
}

/// A fresh PHC string for `password` (the same as argon2's `hash_password`).
fn phc_hash(params: &Params, password: &[u8]) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_raw = salt.as_salt().decode_b64(&mut salt_buf)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon2_into(&argon, params, password, salt_raw, &mut out)?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    }
    .to_string())
}

/// Whether `password` hashes to the PHC string `phc`, with the parameters the
/// string names (so hashes made under older costs still verify).
fn phc_verify(phc: &str, password: &[u8]) -> Result<bool, argon2::password_hash::Error> {
    let parsed = PasswordHash::new(phc)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    let mut salt_buf = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_buf)?;
    let mut out = vec![0u8; expected.len()];
    argon2_into(
        &Argon2::new(algorithm, version, params.clone()),
        &params,
        password,
        salt_raw,
        &mut out,
    )?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out)? == expected)
}

/// Dedicated threads that run jobs in order of arrival.
struct HashPool {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl HashPool {
    fn start(threads: usize) -> anyhow::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while taking a job, not while running it.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Self {
            jobs: Mutex::new(tx),
        })
    }

    /// Runs `f` on the pool and waits for its result without blocking the caller's thread.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, result) = oneshot::channel();
        self.submit(Box::new(move || {
            let _ = done.send(f());
        }))?;
        result
            .await
            .map_err(|_| AppError::internal(anyhow::anyhow!("hash job dropped")))
    }

    /// Runs `f` on the pool and blocks the calling thread until it is done.
    fn run_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, result) = mpsc::channel();
        self.submit(Box::new(move || {
            let _ = done.send(f());
        }))?;
        result
            .recv()
            .map_err(|_| AppError::internal(anyhow::anyhow!("hash job dropped")))
    }

    fn submit(&self, job: Job) -> Result<(), AppError> {
        self.jobs
            .lock()
            .map_err(|_| AppError::internal(anyhow::anyhow!("hash pool lock poisoned")))?
            .send(job)
            .map_err(|_| AppError::internal(anyhow::anyhow!("hash pool stopped")))
    }
}

/// Makes the calling thread the last to be scheduled: `SCHED_IDLE` (it runs
/// only when no normal thread wants the core, and a waking request thread
/// preempts it at once), with nice 19 as the fallback where that is refused.
/// On Linux both are per thread.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority and sched_setscheduler with pid 0 change only the calling
    // thread; they have no memory-safety preconditions, and a failure just leaves
    // the priority as is.
    unsafe {
        let _ = libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        let param = libc::sched_param { sched_priority: 0 };
        let _ = libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    pool: Arc<HashPool>,
    /// A hash of a random password, verified against when the user does not
    /// exist, so "no such user" costs the same time as "wrong password".
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    pub fn new(memory_kib: u32, iterations: u32) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let pool = HashPool::start(cores.saturating_sub(1).max(1))?;
        // On the pool, whose threads keep their working memory anyway: hashed
        // here, the caller's thread would keep another 19 MiB for good.
        let dummy_params = params.clone();
        let dummy_hash = pool
            .run_blocking(move || phc_hash(&dummy_params, uuid::Uuid::new_v4().as_bytes()))
            .map_err(|e| anyhow::anyhow!("hashing the dummy password: {e}"))?
            .map_err(|e| anyhow::anyhow!("hashing the dummy password: {e}"))?;
        Ok(Self {
            params,
            pool: Arc::new(pool),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// The PHC string (`$argon2id$v=19$m=…`) of `password` with a fresh salt.
    pub async fn hash(&self, password: &Password) -> Result<String, AppError> {
        let params = self.params.clone();
        let password = password.expose().to_owned();
        self.pool
            .run(move || {
                phc_hash(&params, password.as_bytes())
                    .map_err(|e| AppError::internal(anyhow::anyhow!("hashing a password: {e}")))
            })
            .await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) it checks a
    /// dummy and answers false, taking the same time.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AppError> {
        let known = hash.is_some();
        let hash = hash
            .map(str::to_owned)
            .unwrap_or_else(|| self.dummy_hash.to_string());
        let password = password.to_owned();
        let matched = self
            .pool
            .run(move || phc_verify(&hash, password.as_bytes()).unwrap_or(false))
            .await?;
        Ok(known && matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let hasher = PasswordHasher::new(64, 1).unwrap();
        let password = Password::parse("p", "correct horse battery").unwrap();
        let a = hasher.hash(&password).await.unwrap();
        let b = hasher.hash(&password).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_ne!(a, b, "a fresh salt each time");
        assert!(hasher
            .verify("correct horse battery", Some(&a))
            .await
            .unwrap());
        assert!(!hasher
            .verify("wrong horse battery", Some(&a))
            .await
            .unwrap());
        assert!(!hasher.verify("correct horse battery", None).await.unwrap());
        assert!(!hasher.verify("x", Some("not a hash")).await.unwrap());
    }

    #[test]
    fn agrees_with_the_argon2_crate_both_ways() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let params = Params::new(64, 2, 1, None).unwrap();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());

        let theirs = argon
            .hash_password(b"pw", &SaltString::generate(&mut rand::rngs::OsRng))
            .unwrap()
            .to_string();
        assert!(phc_verify(&theirs, b"pw").unwrap());
        assert!(!phc_verify(&theirs, b"pW").unwrap());

        let ours = phc_hash(&params, b"pw").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon.verify_password(b"pw", &parsed).is_ok());
        assert!(argon.verify_password(b"pw2", &parsed).is_err());
    }

    #[test]
    fn verifies_hashes_made_under_another_cost() {
        // The thread's memory was sized for a smaller cost first; a larger one must grow it.
        let small = phc_hash(&Params::new(32, 1, 1, None).unwrap(), b"pw").unwrap();
        let large = phc_hash(&Params::new(256, 1, 1, None).unwrap(), b"pw").unwrap();
        assert!(phc_verify(&small, b"pw").unwrap());
        assert!(phc_verify(&large, b"pw").unwrap());
        assert!(phc_verify(&small, b"pw").unwrap());
    }
}
