"""Polling a service's ``GET /health/alerts`` through the outbound guard."""

from __future__ import annotations

import requests

from incidents.observation import MAX_BODY_BYTES, Observation, invalid, parse, unreachable
from saas.outbound import OutboundBlockedError, ResponseTooLargeError, read_capped

POLL_TIMEOUT = (2.0, 3.0)  # connect, read: well inside one 5 s tick
USER_AGENT = "AlertEngine-poller/1"


def fetch_observation(session: requests.Session, *, url: str, token: str = "") -> Observation:
    """One poll. Never raises: every failure becomes an observation with its reason."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = session.get(url, headers=headers, stream=True, timeout=POLL_TIMEOUT)
    except OutboundBlockedError:
        return unreachable("the health URL resolves to an address AlertEngine may not connect to")
    except requests.Timeout:
        return unreachable("the health endpoint timed out")
    except requests.RequestException as exc:
        return unreachable(f"connection failed ({type(exc).__name__})")
    with response:
        try:
            body = read_capped(response, MAX_BODY_BYTES, deadline_s=POLL_TIMEOUT[1])
        except ResponseTooLargeError:
            return invalid(f"payload is larger than {MAX_BODY_BYTES} bytes")
        except requests.Timeout:
            return unreachable("the health endpoint was too slow to answer")
        except requests.RequestException as exc:
            return unreachable(f"the response was cut off ({type(exc).__name__})")
    if response.status_code in (401, 403):
        return invalid(f"HTTP {response.status_code}: the health endpoint refused the poll token")
    if 300 <= response.status_code < 400:
        return invalid(f"HTTP {response.status_code}: redirects are not followed; configure the final URL")
    observation = parse(body)
    if response.status_code >= 500 and not observation.usable:
        return unreachable(f"HTTP {response.status_code} from the health endpoint")
    if response.status_code >= 400 and response.status_code < 500:
        return invalid(f"HTTP {response.status_code} from the health endpoint")
    return observation
