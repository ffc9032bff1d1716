"""Is a tfds download certain to fail because there is no network?

tfds asks its mirror `storage.googleapis.com` about every dataset it
downloads, and retries for minutes when it cannot reach it. When that name
cannot even be resolved (no network, no DNS) and no proxy is configured, the
download cannot succeed: `offline_reason()` says so in a line, at once. In
any other case (a proxy, a slow or partial network) it returns None and
tfds tries as usual.
"""

import os
import socket

__all__ = ['TFDS_HOST', 'offline_reason']

TFDS_HOST = 'storage.googleapis.com'
_PROXY_VARIABLES = ('https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY',
                    'all_proxy', 'ALL_PROXY')


def offline_reason(host=TFDS_HOST):
  """Why a download from `host` cannot work here, or None if it might."""
  if any(os.environ.get(name) for name in _PROXY_VARIABLES):
    return None
  try:
    socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
  except socket.gaierror as e:
    return f'this machine cannot resolve {host} ({e.strerror}): no network'
  except OSError:
    return None
  return None
