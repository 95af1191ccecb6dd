//! How the records operators read are written by serde (what admin tools print as JSON):
//! ids and names as strings, hashes and fingerprints as hex, times as milliseconds since the
//! epoch (as stored), statuses and block kinds by their stable names.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::{
    BlockKind, DefinitionHash, Fingerprint, InstanceId, LeaseHolder, Status, Timestamp, WorkerId,
    WorkflowKey,
};

impl Serialize for InstanceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for WorkerId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl Serialize for DefinitionHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Serialize for BlockKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Serialize for LeaseHolder {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("LeaseHolder", 3)?;
        st.serialize_field("owner", &self.owner)?;
        st.serialize_field("until", &self.until)?;
        st.serialize_field("generation", &self.generation)?;
        st.end()
    }
}

impl Serialize for WorkflowKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("WorkflowKey", 3)?;
        st.serialize_field("workflow", &self.workflow)?;
        st.serialize_field("hash", &self.hash)?;
        st.serialize_field("fingerprint", &self.fingerprint)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn records_are_written_with_names_hex_and_milliseconds() {
        let lease = LeaseHolder {
            owner: WorkerId("host:1:a".into()),
            until: Timestamp(1_700_000_000_123),
            generation: 3,
        };
        assert_eq!(
            serde_json::to_string(&lease).unwrap(),
            r#"{"owner":"host:1:a","until":1700000000123,"generation":3}"#
        );
        assert_eq!(
            serde_json::to_string(&(Status::Completed, BlockKind::Parked)).unwrap(),
            r#"["completed","parked"]"#
        );
        assert_eq!(
            serde_json::to_string(&InstanceId::new("order-1").unwrap()).unwrap(),
            r#""order-1""#
        );
        assert_eq!(
            serde_json::to_string(&DefinitionHash([0xab; 32])).unwrap(),
            format!("\"{}\"", "ab".repeat(32))
        );
    }
}
