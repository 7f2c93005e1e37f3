-- The scopes a device flow was started with (`POST /auth/github/device {"scope"}`), as the
-- space-separated text the authenticator wrote; a poll may narrow them, never widen them. NULL
-- for a code first seen in a poll, or relayed before this column: such a code is bound to what
-- the device flow asks for by default, every scope.
ALTER TABLE device_codes ADD COLUMN scope TEXT;
