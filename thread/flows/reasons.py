from thread.flows.permissions import calling_system


def push_reason(request, given: str) -> str:
    """The reason history records for an API push: the caller's own, else who pushed it with
    which Idempotency-Key, so an auditor can find the inbound message."""
    if given and given.strip():
        return given.strip()
    system = calling_system(request)
    who = system.name if system else request.user.get_username()
    key = request.headers.get("Idempotency-Key", "")
    return f"API push by {who}" + (f" (Idempotency-Key {key})" if key else "")
