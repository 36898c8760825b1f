//! Authentication building blocks: password hashing, access tokens, sessions with
//! rotating refresh tokens, one-time passwords, sign-in lockouts, and permissions. The use cases
//! that combine them live in [`crate::identity`].

pub mod lockout;
pub mod otp;
pub mod passwords;
pub mod permissions;
pub mod sessions;
pub mod tokens;
