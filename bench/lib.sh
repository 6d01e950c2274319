# Shell helpers the benchmark scripts share; source it, do not run it.

# Installs wrk and nginx (Debian's nginx-light) when missing.
ensure_wrk_nginx() {
  if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null
  fi
}

# A loopback TCP port nothing listens on.
free_port() {
  local p
  while :; do
    p=$(shuf -i 20000-60999 -n 1)
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# Writes a minimal nginx config to FILE (2 workers, files beside FILE)
# serving 127.0.0.1:PORT with LOCATION as the body of `location /`.
nginx_conf() {
  local file=$1 port=$2 location=$3 dir
  dir=$(dirname "$file")
  cat > "$file" <<NGINX
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$port;
    location / { $location }
  }
}
NGINX
}

# One wrk run with $conns connections for $secs seconds (extra arguments go
# to wrk): prints "<requests/s> <p99 in ms> <non-2xx responses>".
wrk_measure() {
  wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" | awk '
    function ms(x) {
      if (x ~ /us$/) return substr(x, 1, length(x) - 2) / 1000
      if (x ~ /ms$/) return substr(x, 1, length(x) - 2) + 0
      if (x ~ /s$/)  return substr(x, 1, length(x) - 1) * 1000
      return x
    }
    /Requests\/sec/       { rps = $2 }
    $1 == "99%"           { p99 = ms($2) }
    /Non-2xx or 3xx/      { bad = $NF }
    END { printf "%d %.3f %d\n", rps, p99, bad }'
}

# The median of the numbers on standard input, one per line.
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
