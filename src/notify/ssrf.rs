//! The SSRF guard: a webhook may only reach public addresses unless
//! `notify.allow_private_targets` is set. The host name is resolved here, every address
//! it resolves to is checked (one private answer is enough to refuse: DNS answers can
//! be shuffled), and the delivery then connects to the checked address itself, so a
//! second lookup cannot be steered elsewhere (DNS rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::DeliveryError;

/// Whether `ip` is a public unicast address (not loopback, private, link-local,
/// shared, unspecified, multicast, broadcast, documentation or otherwise reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            is_public_v6(v6)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || ip.segments()[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
}

/// Resolves `host:port` and returns the address to connect to, or refuses.
pub async fn resolve_checked(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<SocketAddr, DeliveryError> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| DeliveryError::Retryable(format!("cannot resolve {host}: {e}")))?
        .collect();
    let Some(first) = addresses.first().copied() else {
        return Err(DeliveryError::Retryable(format!("{host} has no address")));
    };
    if !allow_private {
        if let Some(bad) = addresses.iter().find(|a| !is_public(a.ip())) {
            return Err(DeliveryError::Permanent(format!(
                "refused: {host} resolves to {}, a loopback, private or link-local address (notify.allow_private_targets is false)",
                bad.ip()
            )));
        }
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_ranges_are_not_public() {
        for bad in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(bad.parse().unwrap()), "{bad}");
        }
        for good in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(good.parse().unwrap()), "{good}");
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused() {
        let refused = resolve_checked("localhost", 80, false).await;
        assert!(
            matches!(refused, Err(DeliveryError::Permanent(_))),
            "{refused:?}"
        );
        assert!(resolve_checked("localhost", 80, true).await.is_ok());
    }
}
