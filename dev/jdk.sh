# Sourced by ./aether and ./run-tests: points JAVA_HOME at a JDK 25.
# Order: $JAVA_HOME if it is 25 or newer, then the usual install places. The version comes from
# the JDK's release file (starting a JVM to ask would add ~60 ms to every aether command).
aether_find_jdk() {
  local candidate version line
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/java-25-openjdk-amd64 /usr/lib/jvm/*25* /opt/java/openjdk; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    version=
    # Read by bash itself, not sed: one subprocess less before the launcher's exec of java.
    if [ -r "$candidate/release" ]; then
      while IFS= read -r line || [ -n "$line" ]; do
        case $line in
          JAVA_VERSION=\"[0-9]*) version=${line#JAVA_VERSION=\"}; version=${version%%[!0-9]*}; break ;;
        esac
      done < "$candidate/release"
    fi
    if [ -z "$version" ]; then
      version=$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    fi
    if [ -n "$version" ] && [ "${version%%.*}" -ge 25 ] 2>/dev/null; then
      export JAVA_HOME="$candidate"
      return 0
    fi
  done
  echo "aether: needs a JDK 25 or newer; set JAVA_HOME to one (e.g. Temurin 25)" >&2
  return 1
}
