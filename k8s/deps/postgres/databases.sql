CREATE DATABASE mediarec_catalog;
CREATE DATABASE mediarec_users;
CREATE DATABASE mediarec_recs;
