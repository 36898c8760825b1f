//! Administration of users: the admin's view of them, their roles, disabling and
//! re-enabling them, lifting their lockout, seeing and ending their sessions (each
//! audited with the acting admin), and the configured admin created at startup.

use rand::RngCore;

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::sessions::Session;
use crate::app::identity::{Identity, Principal, RequestContext};
use crate::config::Settings;
use crate::domain::audit::AuditKind;
use crate::domain::user::{
    Password, PersonName, Phone, Registration, Role, User, UserId, UserStatus,
};
use crate::domain::user_query::{RawUserQuery, UserPage, UserQuery};
use crate::domain::validation::FieldError;
use crate::store::StoreError;

fn parse_user_id(raw: &str) -> Result<UserId, AppError> {
    UserId::parse(raw).map_err(|why| AppError::invalid_parameter("id", why))
}

impl Identity {
    /// Records what staff member `actor` did to `user`.
    async fn by_staff(
        &self,
        kind: AuditKind,
        actor: &Principal,
        user: &UserId,
        ctx: &RequestContext,
        detail: String,
    ) {
        self.record(kind, Some(user), Some(&actor.user_id), ctx, detail)
            .await;
    }

    pub async fn list_users(&self, raw: &RawUserQuery) -> Result<(UserQuery, UserPage), AppError> {
        let query = UserQuery::parse(raw)?;
        let page = self.users.list(&query).await?;
        Ok((query, page))
    }

    pub async fn get_user(&self, id: &str) -> Result<User, AppError> {
        self.user(&parse_user_id(id)?).await
    }

    /// Replaces a user's roles. Requests read roles from the user record, and the
    /// user's sessions end as well, so the change holds at once on every replica,
    /// even one whose user cache has not yet heard of the write.
    pub async fn set_roles(
        &self,
        actor: &Principal,
        id: &str,
        roles: &[String],
        ctx: &RequestContext,
    ) -> Result<User, AppError> {
        let id = parse_user_id(id)?;
        let mut errors = crate::domain::validation::Collector::default();
        let mut parsed: Vec<Role> = roles
            .iter()
            .enumerate()
            .filter_map(|(i, r)| errors.take(Role::parse(&format!("roles[{i}]"), r)))
            .collect();
        if roles.is_empty() {
            errors.push(FieldError::new(
                "roles",
                "required",
                "give at least one role",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::validation(errors.into_errors()));
        }
        parsed.sort();
        parsed.dedup();
        if actor.user_id == id && !parsed.contains(&Role::Admin) {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "admins cannot remove their own admin role",
            ));
        }
        let current = self.user(&id).await?;
        let before: Vec<&str> = current.roles.iter().map(|r| r.as_str()).collect();
        let detail = format!(
            "roles: {} → {}",
            before.join(","),
            parsed
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        let user = self.save(&current, |u| u.roles = parsed).await?;
        self.sessions.revoke_all(user.id.as_str()).await?;
        self.by_staff(AuditKind::RolesChanged, actor, &user.id, ctx, detail)
            .await;
        Ok(user)
    }

    pub async fn disable_user(
        &self,
        actor: &Principal,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<User, AppError> {
        let id = parse_user_id(id)?;
        if actor.user_id == id {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "admins cannot disable themselves",
            ));
        }
        let current = self.user(&id).await?;
        let user = self
            .save(&current, |u| u.status = UserStatus::Disabled)
            .await?;
        let ended = self.sessions.revoke_all(user.id.as_str()).await?;
        self.by_staff(
            AuditKind::UserDisabled,
            actor,
            &user.id,
            ctx,
            format!("{ended} sessions ended"),
        )
        .await;
        Ok(user)
    }

    /// Re-enables a disabled account: it may sign in again (its sessions ended when it
    /// was disabled, so it signs in afresh). An account that is not disabled is left
    /// as it is; the request is still audited.
    pub async fn enable_user(
        &self,
        actor: &Principal,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<User, AppError> {
        let id = parse_user_id(id)?;
        let current = self.user(&id).await?;
        let (user, detail) = if current.status == UserStatus::Disabled {
            let user = self
                .save(&current, |u| u.status = UserStatus::Active)
                .await?;
            (user, "disabled → active".to_owned())
        } else {
            let detail = format!("already {}", current.status.as_str());
            (current, detail)
        };
        self.by_staff(AuditKind::UserEnabled, actor, &user.id, ctx, detail)
            .await;
        Ok(user)
    }

    /// Lifts an account's sign-in lockout: the account's lock and every address's,
    /// and their failure counters, so the owner can sign in at once. A `locked`
    /// account becomes `active`; a disabled one stays disabled.
    pub async fn unlock_user(
        &self,
        actor: &Principal,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<User, AppError> {
        let id = parse_user_id(id)?;
        let current = self.user(&id).await?;
        let addresses = self.lockout.lift(&format!("user:{}", current.id)).await?;
        let user = if current.status == UserStatus::Locked {
            self.save(&current, |u| u.status = UserStatus::Active)
                .await?
        } else {
            current
        };
        self.by_staff(
            AuditKind::UserUnlocked,
            actor,
            &user.id,
            ctx,
            format!("locks lifted for {addresses} addresses"),
        )
        .await;
        Ok(user)
    }

    /// Ends every session of a user: their access and refresh tokens stop working
    /// at once. Returns how many there were.
    pub async fn end_user_sessions(
        &self,
        actor: &Principal,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<usize, AppError> {
        let id = parse_user_id(id)?;
        let user = self.user(&id).await?;
        let ended = self.sessions.revoke_all(user.id.as_str()).await?;
        self.by_staff(
            AuditKind::UserSessionsEnded,
            actor,
            &user.id,
            ctx,
            format!("{ended} sessions ended"),
        )
        .await;
        Ok(ended)
    }

    /// A user's live sessions, most recently used first. Looking is audited: the
    /// list shows where and on what the customer signs in.
    pub async fn user_sessions(
        &self,
        actor: &Principal,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<Vec<Session>, AppError> {
        let id = parse_user_id(id)?;
        let user = self.user(&id).await?;
        let sessions = self.sessions.list(user.id.as_str()).await?;
        self.by_staff(
            AuditKind::UserSessionsViewed,
            actor,
            &user.id,
            ctx,
            format!("{} sessions", sessions.len()),
        )
        .await;
        Ok(sessions)
    }

    /// Creates the configured admin (`BAZAAR_ADMIN_PHONE`) if no account has that phone.
    /// Never promotes: an existing account with the phone that is not an admin stays as
    /// it is, and startup says so in the log, because whoever registered the founder's
    /// number first would otherwise become admin with their own password. In
    /// development without a configured admin, creates a development admin and logs its
    /// password once.
    pub async fn bootstrap_admin(&self, settings: &Settings) -> anyhow::Result<()> {
        use secrecy::ExposeSecret;
        let (phone, password, generated) = match &settings.auth.admin {
            Some((phone, password)) => (phone.clone(), password.expose_secret().to_owned(), false),
            None if settings.env == crate::config::Environment::Development => {
                let mut bytes = [0u8; 12];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                ("+919999999999".to_owned(), hex::encode(bytes), true)
            }
            None => return Ok(()),
        };
        let phone = Phone::parse("admin_phone", &phone).map_err(|e| anyhow::anyhow!(e.message))?;
        if let Some(existing) = self
            .users
            .find_by_phone(&phone)
            .await
            .map_err(anyhow::Error::new)?
        {
            self.admin_phone_taken(&existing);
            return Ok(());
        }
        let password_parsed =
            Password::parse("admin_password", &password).map_err(|e| anyhow::anyhow!(e.message))?;
        let hash = self
            .hasher
            .hash(&password_parsed)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let reg = Registration {
            phone: phone.clone(),
            email: None,
            name: PersonName::parse("name", "Administrator")
                .map_err(|e| anyhow::anyhow!(e.message))?,
            password: Some(password_parsed),
        };
        let mut admin = User::register(reg, Some(hash), vec![Role::Admin], self.clock.now());
        admin.phone_verified = true;
        match self.users.insert(&admin).await {
            Ok(()) => {}
            // Someone took the phone since we looked: another replica creating the
            // admin, or a sign-up in between.
            Err(StoreError::Duplicate { .. }) => {
                if let Some(existing) = self
                    .users
                    .find_by_phone(&phone)
                    .await
                    .map_err(anyhow::Error::new)?
                {
                    self.admin_phone_taken(&existing);
                }
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        if generated {
            tracing::warn!(
                phone = phone.as_str(),
                password = password.as_str(),
                "created a development admin; this password is shown only once (set BAZAAR_ADMIN_PHONE and BAZAAR_ADMIN_PASSWORD to choose your own)"
            );
        } else {
            tracing::info!(phone = %phone.masked(), "created the configured admin");
        }
        Ok(())
    }

    /// The admin phone belongs to `existing`: nothing to do if it is an admin; otherwise
    /// it is left alone, and the operator told how to proceed.
    fn admin_phone_taken(&self, existing: &User) {
        if existing.has_role(Role::Admin) {
            return;
        }
        tracing::warn!(
            phone = %existing.phone.masked(),
            user_id = %existing.id,
            "BAZAAR_ADMIN_PHONE belongs to an existing account that is not an admin; it was not promoted and no admin was created. Set BAZAAR_ADMIN_PHONE to a number no account has; that admin can grant roles to this account once its owner is confirmed"
        );
    }
}
