"""The daemon (edge): scheduling, politeness, reloads, systemd notification."""
