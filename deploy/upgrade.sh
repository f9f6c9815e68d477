#!/bin/sh
# Upgrade an installed vmeeting (deploy/install.sh) to this checkout, as root: a backup first, the code,
# the dependencies, the migrations, then the services restarted. Usage: git pull && deploy/upgrade.sh
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
cd /   # su keeps the working directory, which user vmeeting may not enter (root's home)
su vmeeting -s /bin/sh -c "set -a; . /etc/vmeeting/env; set +a; /opt/vmeeting/app/deploy/backup.sh /var/backups/vmeeting"
rsync -a --delete --exclude .venv --exclude instance --exclude .git "$src/" /opt/vmeeting/app/
/opt/vmeeting/venv/bin/pip install -q -e /opt/vmeeting/app
/opt/vmeeting/venv/bin/pybabel -q compile -f -d /opt/vmeeting/app/vmeeting/translations
cd /opt/vmeeting/app
booted=; [ -d /run/systemd/system ] && booted=1   # else a chroot or an image: nothing runs to stop or restart
[ -n "$booted" ] && systemctl stop vmeeting-worker
su vmeeting -s /bin/sh -c "set -a; . /etc/vmeeting/env; set +a; VMEETING_ENV=production /opt/vmeeting/venv/bin/flask --app wsgi db upgrade"
install -m 0644 deploy/systemd/*.service deploy/systemd/*.timer /etc/systemd/system/
nginx -t
if [ -n "$booted" ]; then
    systemctl daemon-reload
    systemctl restart vmeeting-web vmeeting-worker
    systemctl reload nginx
fi
echo "vmeeting upgraded"
