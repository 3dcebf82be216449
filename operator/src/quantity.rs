//! Compare Kubernetes quantities (`10Gi`, `500M`, `1.5Ti`) by size. Hand-written: k8s-openapi keeps
//! `Quantity` as an opaque string and no maintained crate parses it for this kube version.

/// Bytes (or base units) of a quantity; `None` when it is not a quantity.
pub fn to_units(quantity: &str) -> Option<f64> {
    let split = quantity.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_decimal_suffixes_compare_by_size() {
        assert!(to_units("1Gi") > to_units("1G"));
        assert_eq!(to_units("1024Mi"), to_units("1Gi"));
        assert_eq!(to_units("500m"), Some(0.5));
        assert_eq!(to_units("10 Gi"), None);
    }
}
