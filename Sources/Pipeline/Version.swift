/// btfgen's release version, printed by `btfgen --version`; bump it with each tagged release.
public let btfgenVersion = "0.1.0"
