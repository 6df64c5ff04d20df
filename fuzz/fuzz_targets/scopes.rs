//! Scope lists of Workspace authorization requests (`openid profile email offline_access`):
//! known scopes only, each once, in the documented order; an unknown one is named as sent.

#![no_main]

use cloudtrust_server::domain::workspace_sign_in::scopes::{SCOPES, covered, parse, supported};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let asked: Vec<&str> = text.split(' ').filter(|s| !s.is_empty()).collect();
    let known = supported();
    match parse(text) {
        Ok(scopes) => {
            assert!(
                asked.iter().all(|s| known.contains(s)),
                "an unknown scope slipped in"
            );
            assert!(
                scopes.iter().all(|s| asked.contains(&s.as_str())),
                "a scope not asked for"
            );
            assert!(
                asked.iter().all(|s| scopes.iter().any(|g| g == s)),
                "a scope dropped"
            );
            // Each once, in the order of SCOPES.
            let positions: Vec<usize> = scopes
                .iter()
                .map(|s| {
                    SCOPES
                        .iter()
                        .position(|(name, _)| name == s)
                        .expect("known")
                })
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "{scopes:?}");
            assert!(covered(&scopes, &scopes));
            assert_eq!(parse(&scopes.join(" ")).as_ref(), Ok(&scopes));
        }
        Err(unknown) => {
            assert!(!known.contains(&unknown.as_str()), "{unknown:?} is known");
            assert_eq!(
                asked.iter().find(|s| !known.contains(s)).copied(),
                Some(unknown.as_str()),
                "not the first unknown scope"
            );
        }
    }
});
