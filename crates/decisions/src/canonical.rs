//! Canonical forms of a request: the exact-match cache key and the text the memory tier embeds.

use sha2::{Digest, Sha256};
use waooaw_domain::{DecisionRequest, Specialization};

/// The context with object keys sorted (serde_json's map is ordered by key), string values
/// trimmed and their whitespace runs collapsed, so cosmetic differences share one cache entry.
pub fn normalise(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(s.split_whitespace().collect::<Vec<_>>().join(" ")),
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), normalise(v))).collect()),
        other => other.clone(),
    }
}

/// Hex SHA-256 of (specialization id and version, request type, normalised context). The
/// tenant is not hashed in: the store keys entries by tenant as well, so no tenant ever reads
/// another's cached decision.
pub fn cache_key(spec: &Specialization, request: &DecisionRequest) -> String {
    let mut h = Sha256::new();
    for part in [spec.id.as_str(), spec.version.as_str(), request.request_type.as_str()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.update(normalise(&request.context).to_string().as_bytes());
    hex::encode(h.finalize())
}

/// What the memory tier embeds for a request: its type, then each string and number of the
/// context as `path: value` lines (keys sorted), so similar cases read alike.
pub fn request_text(request: &DecisionRequest) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(&request.request_type.replace('.', " "));
    out.push('\n');
    flatten(&normalise(&request.context), &mut String::new(), &mut out);
    out
}

fn flatten(value: &serde_json::Value, path: &mut String, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                flatten(v, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| flatten(v, path, out)),
        Value::String(s) => line(path, s, out),
        Value::Number(n) => line(path, &n.to_string(), out),
        Value::Bool(b) => line(path, if *b { "yes" } else { "no" }, out),
        Value::Null => {}
    }
}

fn line(path: &str, value: &str, out: &mut String) {
    out.push_str(&path.replace(['_', '.'], " "));
    out.push_str(": ");
    out.push_str(value);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use waooaw_domain::{InstanceId, TenantId, Urgency};

    fn spec(version: &str) -> Specialization {
        let text = format!(
            "id = \"content-marketing\"\nname = \"Content\"\ntype = \"specialist\"\ndomain = \"marketing\"\nversion = \"{version}\"\nresponsibilities = [\"review\"]\nwork = \"w\"\n[wake]\nsubscriptions = [\"file.*\"]\n"
        );
        Specialization::from_toml("c.toml", &text, &["w"]).unwrap()
    }

    fn req(context: serde_json::Value) -> DecisionRequest {
        DecisionRequest {
            tenant_id: TenantId::new(),
            instance_id: InstanceId::new(),
            request_type: "content.compliance".into(),
            context,
            urgency: Urgency::Normal,
        }
    }

    #[test]
    fn key_ignores_key_order_and_whitespace_but_not_content_or_version() {
        let a = req(json!({"title": "Flu  season tips", "claims": ["reduces symptoms"]}));
        let b = req(json!({"claims": ["reduces symptoms"], "title": " Flu season tips "}));
        let c = req(json!({"claims": ["cures the flu"], "title": "Flu season tips"}));
        let s = spec("1.0.0");
        assert_eq!(cache_key(&s, &a), cache_key(&s, &b));
        assert_ne!(cache_key(&s, &a), cache_key(&s, &c));
        assert_ne!(cache_key(&s, &a), cache_key(&spec("1.1.0"), &a), "a new spec version invalidates");
        assert_eq!(cache_key(&s, &a).len(), 64);
    }

    #[test]
    fn request_text_lists_paths_and_values() {
        let r = req(json!({"draft": {"title": "Flu tips", "word_count": 640}, "has_disclaimer": false}));
        assert_eq!(request_text(&r), "content compliance\ndraft title: Flu tips\ndraft word count: 640\nhas disclaimer: no\n");
    }
}
