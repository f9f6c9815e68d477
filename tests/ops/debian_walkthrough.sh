#!/bin/bash
# Follow the README's "Production on one server" on a fresh Debian 12 made by debootstrap, as root, and
# say what passed and what a chroot cannot run. Not part of `make test` (it downloads Debian's packages
# and the project's dependencies, several minutes): run it after changing deploy/ or that section.
#
#   tests/ops/debian_walkthrough.sh [ROOT]      (ROOT: a folder for the chroot, made afresh at each run from
#                                               ROOT.base; default /var/tmp/vmeeting-debian)
#
# A chroot is not a booted server: systemd is not PID 1 (systemctl enables units but starts nothing), and
# Debian's policy for package installs in a chroot (policy-rc.d) keeps daemons from starting. So where the
# README relies on systemd, this script starts the same programs itself, from the installed unit files'
# own ExecStart= lines and /etc/vmeeting/env, and says so. The chroot shares the host's network: its
# PostgreSQL listens on PGPORT (5439) instead of 5432, and nginx on 8080/8443 instead of 80/443, set
# only for this run.
set -euo pipefail
root=${1:-/var/tmp/vmeeting-debian}
src=$(cd "$(dirname "$0")/../.." && pwd)
name=vmeeting.langson.gov.vn
log() { printf '\n== %s\n' "$*"; }
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 PGPORT=5439 \
    DEBIAN_FRONTEND=noninteractive "$@"; }

# Stop the chroot's own processes matching a pattern (all of them without one). Never by user name: the
# chroot's "vmeeting" has a uid the host may give to someone else (once, the host's PostgreSQL).
stop_in_root() {
    local pid
    for pid in /proc/[0-9]*; do
        [ "$(readlink "$pid/root" 2>/dev/null)" = "$(readlink -f "$root")" ] || continue
        [ -z "${1:-}" ] || tr '\0' ' ' < "$pid/cmdline" 2>/dev/null | grep -qE "$1" || continue
        kill "${pid#/proc/}" 2>/dev/null
    done
}

cleanup() {
    set +e
    in_root sh -c 'nginx -s stop; pg_ctlcluster 15 main stop' >/dev/null 2>&1
    stop_in_root
    for m in dev/pts dev proc sys; do umount -l "$root/$m" 2>/dev/null; done
}
trap cleanup EXIT

# a fresh copy for each run, of a debootstrap made once and kept beside it ($root.base)
if [ ! -x "$root.base/bin/bash" ]; then
    log "debootstrap bookworm into $root.base"
    debootstrap --variant=minbase bookworm "$root.base" http://deb.debian.org/debian
fi
rm -rf "$root"
cp -a "$root.base" "$root"
mount -t proc proc "$root/proc"; mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"; mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# the host's way to the package index, if it has one: its pip settings and the certificates it trusts
# (a proxy's own CA, say), added to the chroot's as a local CA once ca-certificates is there
[ -e /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"
install -d "$root/usr/local/share/ca-certificates"
cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/ca-certificates/host-trusted.crt"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"

# The code as an office gets it: a git repository to clone (here the checkout's committed HEAD).
rm -rf "$root/srv/vmeeting.git"
git clone -q --bare "$src" "$root/srv/vmeeting.git"

log "README step 1: apt-get install git; git clone; deploy/install.sh (PostgreSQL started by hand, see above)"
in_root sh -c 'apt-get update -qq && apt-get install -y -qq git >/dev/null'
# what a server image has and debootstrap's minbase leaves out: systemd (systemctl), procps (ps, pgrep), the CAs
in_root sh -c 'apt-get install -y -qq systemd procps ca-certificates >/dev/null && update-ca-certificates >/dev/null'
rm -rf "$root/root/vmeeting"
in_root git clone -q /srv/vmeeting.git /root/vmeeting
# install.sh installs postgresql itself; a chroot does not start it, so it is installed and started first,
# on its own port (the host's PostgreSQL has 5432)
in_root sh -c 'apt-get install -y -qq --no-install-recommends postgresql >/dev/null &&
    sed -i "s/^port = .*/port = 5439/" /etc/postgresql/15/main/postgresql.conf &&
    pg_ctlcluster 15 main start'
in_root sh -c "cd /root/vmeeting && deploy/install.sh $name" 2>&1 | tee "$root/var/tmp/install.log"

log "README step 2: the env file's mail settings"
in_root sh -c 'sed -i -e "s|^#SMTP_URL=.*|SMTP_URL=smtp://127.0.0.1:2525|" \
    -e "s|^MAIL_FROM=.*|MAIL_FROM=vmeeting@langson.gov.vn|" /etc/vmeeting/env &&
    grep -E "^(SECRET_KEY|DATABASE_URL|SMTP_URL|MAIL_FROM)=" /etc/vmeeting/env | sed "s/=.*/=…/"'

log "README step 3 (certbot) needs a DNS name reaching this machine: not run"

log "README step 4: the first administrator"
printf 'mat-khau-quan-tri-2026\nmat-khau-quan-tri-2026\n' | in_root sh -c "cd /opt/vmeeting/app && \
    runuser -u vmeeting -- sh -c 'set -a; . /etc/vmeeting/env; \
    VMEETING_ENV=production /opt/vmeeting/venv/bin/flask --app wsgi users create admin --role admin'"

log "README step 5: the services, started from their unit files as systemd would (it is not PID 1 here)"
start_unit() {  # a script in the chroot made of the installed unit's EnvironmentFile=, Environment= and ExecStart=
    local file="$root/etc/systemd/system/$1.service"
    {
        echo '#!/bin/sh'
        echo 'set -a; . /etc/vmeeting/env'
        sed -n 's/^Environment=//p' "$file"
        echo 'set +a; cd /opt/vmeeting/app'
        printf 'exec '; sed -n 's/^ExecStart=//p' "$file"
    } > "$root/var/tmp/start-$1.sh"
    in_root sh -c "runuser -u vmeeting -- sh /var/tmp/start-$1.sh >/var/tmp/$1.log 2>&1 &"
}
in_root install -d -o vmeeting -g vmeeting /run/vmeeting-web /run/vmeeting-web/metrics
start_unit vmeeting-web
start_unit vmeeting-worker
sed -i -e 's/listen 80;/listen 8080;/; s/listen \[::\]:80;/listen [::]:8080;/' \
    -e 's/listen 443 ssl;/listen 8443 ssl;/; s/listen \[::\]:443 ssl;/listen [::]:8443 ssl;/' \
    -e 's/listen 443 ssl http2;/listen 8443 ssl http2;/; s/listen \[::\]:443 ssl http2;/listen [::]:8443 ssl http2;/' \
    "$root/etc/nginx/sites-available/vmeeting"
in_root nginx -t
in_root nginx
for _ in $(seq 60); do
    curl -skf --resolve "$name:8443:127.0.0.1" "https://$name:8443/readyz" >/dev/null && break; sleep 1
done
curl -sk --resolve "$name:8443:127.0.0.1" "https://$name:8443/readyz"; echo
curl -sI --resolve "$name:8080:127.0.0.1" "http://$name:8080/" | grep -i '^location'
in_root pgrep -u vmeeting -a -f 'gunicorn|scheduler run' | cut -c1-100
for file in /static/app.css /bootstrap/static/css/bootstrap.min.css; do   # from disk, by nginx's aliases
    curl -skI --resolve "$name:8443:127.0.0.1" "https://$name:8443$file" | grep -iE '^(HTTP|cache-control)' | tr -d '\r'
done
curl -sk --resolve "$name:8443:127.0.0.1" "https://$name:8443/login" | grep -o '<title>[^<]*</title>'
tail -n 2 "$root/var/tmp/vmeeting-web.log"

log "README step 6: /metrics with the env file's token"
token=$(sed -n 's/^METRICS_TOKEN=//p' "$root/etc/vmeeting/env")
curl -sk --resolve "$name:8443:127.0.0.1" -H "Authorization: Bearer $token" "https://$name:8443/metrics" \
    | grep -E '^vmeeting_(outbox_mails|worker_lease_holder)' | head -n 4

log "Backups: the timer's service command, then the README's restore (services stopped)"
in_root runuser -u vmeeting -- sh -c "set -a; . /etc/vmeeting/env; set +a; cd /opt/vmeeting/app && \
    $(sed -n 's/^ExecStart=//p' "$root/etc/systemd/system/vmeeting-backup.service")"
dump=$(ls -t "$root"/var/backups/vmeeting/*.dump | head -n 1); dump=${dump#"$root"}
echo "dump: $dump"
stop_in_root 'gunicorn|scheduler run'
sleep 2
in_root runuser -u vmeeting -- sh -c "set -a; . /etc/vmeeting/env; cd /opt/vmeeting/app && \
    deploy/restore.sh $dump \"\$DATABASE_URL\""

log "Upgrade: git pull && deploy/upgrade.sh"
in_root sh -c 'cd /root/vmeeting && git pull -q && deploy/upgrade.sh'

log "Done. Not run in a chroot: systemd as PID 1 (units started, restarted, hardened, the timer firing), \
certbot, ports 80/443 (8080/8443 here), the real DNS name."
