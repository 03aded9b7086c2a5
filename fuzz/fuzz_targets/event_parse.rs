//! Any bytes as an EventBridge event: validation gives an event or an error, never a panic; a
//! valid event's accessors hold what validation promises.

#![no_main]

use libfuzzer_sys::fuzz_target;
use soci_filter::{EventError, ImageActionEvent, RegistryHostError, SelfTriggerRules};

fuzz_target!(|data: &[u8]| {
    let event = match ImageActionEvent::from_json(data) {
        Ok(event) => event,
        Err(error) => {
            assert_eq!(
                error.field().is_none(),
                matches!(error, EventError::InvalidJson(_))
            );
            let _ = error.to_string();
            return;
        }
    };
    assert_eq!(event.account().len(), 12);
    assert!(!event.repository().is_empty());
    assert!(event.digest().contains(':'));
    assert!(event.tag() != Some(""));
    assert_eq!(
        event.image_name(),
        format!("{}:{}", event.repository(), event.tag().unwrap_or(""))
    );
    match event.registry_host() {
        Ok(host) => assert!(host.starts_with(event.account()) && !host.contains('/')),
        Err(error) => assert!(matches!(error, RegistryHostError::Region(_))),
    }
    let _ = SelfTriggerRules::v2().check(event.repository(), event.tag());
});
