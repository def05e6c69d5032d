//! Values written the way the docker command line writes them, which
//! devcontainer.json copies (`runArgs`, `mounts`, `build.options`): Go's
//! booleans and docker's byte sizes. They live in `config` because both the
//! image stage (build options) and the container stage (mounts, `runArgs`)
//! read them; their tests are with the mount syntax (`container::mount`).

/// Parses a byte count the way docker's `RAMInBytes` does (`512`, `64m`,
/// `1.5g`, `2GiB`: binary multiples, case-insensitive), so sizes copied from
/// docker commands mean the same here. `None` when it is not such a size or
/// does not fit an `i64`.
pub fn parse_byte_size(s: &str) -> Option<i64> {
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let multiplier = size_multiplier(suffix.strip_prefix(' ').unwrap_or(suffix))?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || (number.contains('.') && !all_digits(fraction)) {
        return None;
    }
    // Digits past the 18th cannot change the result of a 2^50 multiple.
    let fraction = &fraction[..fraction.len().min(18)];
    let scale = 10u128.pow(fraction.len() as u32);
    let fraction_bytes = fraction.parse::<u128>().unwrap_or(0) * multiplier / scale;
    let bytes = whole.parse::<u128>().ok()?.checked_mul(multiplier)? + fraction_bytes;
    i64::try_from(bytes).ok()
}

/// Go's `strconv.ParseBool`, which docker uses for every boolean it reads.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" => Some(true),
        "0" | "f" | "false" => Some(false),
        _ => None,
    }
}

fn size_multiplier(suffix: &str) -> Option<u128> {
    let lower = suffix.to_ascii_lowercase();
    let unit = lower.strip_suffix('b').unwrap_or(&lower);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return None,
    };
    Some(1u128 << shift)
}
