//! The grievance contact (`BAZAAR_GRIEVANCE_*`): whom customers write to about their
//! personal data, as India's DPDP Act asks a data fiduciary to publish. Shown in the
//! contract's `info.contact` (and so in Swagger UI) when set.

use super::parser::Parser;
use super::spec::SettingSpec;

/// The person or desk that answers customers' data grievances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrievanceContact {
    pub name: String,
    pub email: String,
    /// A page about it (the privacy notice), if there is one.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PrivacySettings {
    /// `None` until configured.
    pub grievance: Option<GrievanceContact>,
}

impl PrivacySettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "grievance_name",
            default: Some(""),
            secret: false,
            help: "The grievance officer (or desk) customers contact about their personal data \
                (DPDP Act), shown in the contract's `info.contact` with \
                `BAZAAR_GRIEVANCE_EMAIL`. Set both, or neither.",
        },
        SettingSpec {
            key: "grievance_email",
            default: Some(""),
            secret: false,
            help: "The grievance contact's email address.",
        },
        SettingSpec {
            key: "grievance_url",
            default: Some(""),
            secret: false,
            help: "A page about privacy and grievances (your privacy notice), shown with the \
                contact; optional.",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        let name = p.string("grievance_name").trim().to_owned();
        let email = p.string("grievance_email").trim().to_owned();
        let url = p.string("grievance_url").trim().to_owned();
        if !url.is_empty() && url::Url::parse(&url).is_err() {
            p.fail("grievance_url", "is not a URL".into());
        }
        let grievance = match (name.is_empty(), email.is_empty()) {
            (true, true) => None,
            (false, false) => {
                if crate::domain::user::Email::parse("grievance_email", &email).is_err() {
                    p.fail("grievance_email", "is not an email address".into());
                }
                Some(GrievanceContact {
                    name,
                    email,
                    url: (!url.is_empty()).then_some(url),
                })
            }
            (true, false) => {
                p.fail(
                    "grievance_name",
                    "is required with BAZAAR_GRIEVANCE_EMAIL".into(),
                );
                None
            }
            (false, true) => {
                p.fail(
                    "grievance_email",
                    "is required with BAZAAR_GRIEVANCE_NAME".into(),
                );
                None
            }
        };
        Self { grievance }
    }
}
