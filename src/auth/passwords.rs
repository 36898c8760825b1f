//! Argon2id password hashing on a small pool of dedicated, low-priority threads.
//!
//! A hash costs tens of milliseconds of CPU and ~19 MiB. Running them on Tokio's
//! workers would stall every other request; on the blocking pool they still
//! compete equally for the CPU and each new blocking thread keeps its own 19 MiB
//! malloc arena. So hashing gets *cores − 1* threads of its own (at least one),
//! started at the lowest scheduling priority: under a burst of sign-ins, the
//! cheap requests still get the CPU first, and memory stays bounded.

use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;

use crate::domain::user::Password;
use crate::errors::AppError;

type Job = Box<dyn FnOnce() + Send>;

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
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.jobs
            .lock()
            .map_err(|_| AppError::internal(anyhow::anyhow!("hash pool lock poisoned")))?
            .send(job)
            .map_err(|_| AppError::internal(anyhow::anyhow!("hash pool stopped")))?;
        result
            .await
            .map_err(|_| AppError::internal(anyhow::anyhow!("hash job dropped")))
    }
}

/// Makes the calling thread the last to be scheduled (nice 19). On Linux,
/// niceness is per thread.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with who = 0 changes only the calling thread; it has
    // no memory-safety preconditions, and a failure just leaves the priority as is.
    unsafe {
        let _ = libc::setpriority(libc::PRIO_PROCESS, 0, 19);
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
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let dummy_hash = argon
            .hash_password(uuid::Uuid::new_v4().as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("hashing the dummy password: {e}"))?
            .to_string();
        Ok(Self {
            params,
            pool: Arc::new(HashPool::start(cores.saturating_sub(1).max(1))?),
            dummy_hash: dummy_hash.into(),
        })
    }

    fn argon(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// The PHC string (`$argon2id$v=19$m=…`) of `password` with a fresh salt.
    pub async fn hash(&self, password: &Password) -> Result<String, AppError> {
        let params = self.params.clone();
        let password = password.expose().to_owned();
        self.pool
            .run(move || {
                let salt = SaltString::generate(&mut rand::rngs::OsRng);
                Self::argon(params)
                    .hash_password(password.as_bytes(), &salt)
                    .map(|h| h.to_string())
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
        let params = self.params.clone();
        let matched = self
            .pool
            .run(move || {
                PasswordHash::new(&hash)
                    .map(|parsed| {
                        Self::argon(params)
                            .verify_password(password.as_bytes(), &parsed)
                            .is_ok()
                    })
                    .unwrap_or(false)
            })
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
}
