#!/bin/sh
# Install vmeeting on a fresh Debian 12 as root, from this checkout (README, "Production on one server"):
# Debian's packages, the vmeeting user, /opt/vmeeting/{app,venv}, the PostgreSQL role and database,
# /etc/vmeeting/env with generated secrets, the systemd units and the nginx site. Run once; the
# upgrade is deploy/upgrade.sh. Usage: deploy/install.sh SERVER_NAME
set -eu
name=${1:?usage: deploy/install.sh SERVER_NAME (the name people open, e.g. vmeeting.langson.gov.vn)}
src=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip git postgresql \
    nginx-light openssl ca-certificates rsync
id vmeeting >/dev/null 2>&1 || adduser --system --group --home /var/lib/vmeeting --shell /usr/sbin/nologin vmeeting
install -d -o vmeeting -g vmeeting -m 0750 /var/lib/vmeeting /var/backups/vmeeting
install -d -m 0755 /opt/vmeeting
rsync -a --delete --exclude .venv --exclude instance --exclude .git "$src/" /opt/vmeeting/app/
python3 -m venv /opt/vmeeting/venv
/opt/vmeeting/venv/bin/pip install -q --upgrade pip
/opt/vmeeting/venv/bin/pip install -q -e /opt/vmeeting/app
/opt/vmeeting/venv/bin/pybabel -q compile -f -d /opt/vmeeting/app/vmeeting/translations

# the role and database, reached over the local socket by peer authentication as the vmeeting user
cd /   # su keeps the working directory, which user postgres may not enter (root's home)
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'vmeeting'\"" | grep -q 1 \
    || su postgres -c "createuser vmeeting"
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'vmeeting'\"" | grep -q 1 \
    || su postgres -c "createdb -O vmeeting -E UTF8 vmeeting"

install -d -m 0750 -g vmeeting /etc/vmeeting
if [ ! -e /etc/vmeeting/env ]; then
    sed -e "s|@SECRET_KEY@|$(openssl rand -hex 32)|" -e "s|@METRICS_TOKEN@|$(openssl rand -hex 24)|" \
        -e "s|vmeeting.example.gov.vn|$name|g" "$src/deploy/env.template" > /etc/vmeeting/env
    chown root:vmeeting /etc/vmeeting/env
    chmod 0640 /etc/vmeeting/env
fi

cd /opt/vmeeting/app
su vmeeting -s /bin/sh -c "set -a; . /etc/vmeeting/env; set +a; VMEETING_ENV=production /opt/vmeeting/venv/bin/flask --app wsgi db upgrade"

install -m 0644 deploy/systemd/vmeeting-web.service deploy/systemd/vmeeting-worker.service \
    deploy/systemd/vmeeting-backup.service deploy/systemd/vmeeting-backup.timer /etc/systemd/system/
sed "s|vmeeting.example.gov.vn|$name|g" deploy/nginx/vmeeting.conf > /etc/nginx/sites-available/vmeeting
ln -sf /etc/nginx/sites-available/vmeeting /etc/nginx/sites-enabled/vmeeting
rm -f /etc/nginx/sites-enabled/default
if [ ! -e "/etc/letsencrypt/live/$name/fullchain.pem" ]; then
    # a self-signed certificate until the real one is in place (README: certbot)
    install -d "/etc/letsencrypt/live/$name"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$name" \
        -keyout "/etc/letsencrypt/live/$name/privkey.pem" -out "/etc/letsencrypt/live/$name/fullchain.pem" 2>/dev/null
fi
nginx -t
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now vmeeting-web vmeeting-worker vmeeting-backup.timer
    systemctl reload nginx
else  # an image being built, a chroot: the units are enabled and start with the first boot
    systemctl enable vmeeting-web vmeeting-worker vmeeting-backup.timer
    echo "systemd is not running here: vmeeting-web, vmeeting-worker and nginx start at the next boot"
fi
echo "vmeeting installed: https://$name/ ; create the first administrator with:"
echo "  cd /opt/vmeeting/app && runuser -u vmeeting -- sh -c 'set -a; . /etc/vmeeting/env; VMEETING_ENV=production /opt/vmeeting/venv/bin/flask --app wsgi users create admin --role admin'"
