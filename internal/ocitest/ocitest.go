// Package ocitest writes OCI image layouts from a root filesystem, for
// tests that need an image with a configuration (environment, command)
// where no registry can be reached.
package ocitest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Image describes the image to write.
type Image struct {
	// Rootfs is the directory that becomes the image's only layer.
	Rootfs string
	// Tag names the image in the layout's index ("latest" when empty).
	Tag string
	// Env, Entrypoint and Cmd are the image's configuration.
	Env             []string
	Entrypoint, Cmd []string
}

// Write makes an OCI image layout at dir holding img.
func Write(dir string, img Image) error {
	layer, err := tarDir(img.Rootfs)
	if err != nil {
		return err
	}
	if img.Tag == "" {
		img.Tag = "latest"
	}
	blob := func(data []byte) (map[string]any, error) {
		sum := sha256.Sum256(data)
		hexSum := hex.EncodeToString(sum[:])
		p := filepath.Join(dir, "blobs", "sha256", hexSum)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		return map[string]any{"digest": "sha256:" + hexSum, "size": len(data)}, os.WriteFile(p, data, 0o644)
	}
	layerDesc, err := blob(layer)
	if err != nil {
		return err
	}
	layerDesc["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{"Env": img.Env, "Entrypoint": img.Entrypoint, "Cmd": img.Cmd},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDesc["digest"].(string)}},
	})
	configDesc, err := blob(config)
	if err != nil {
		return err
	}
	configDesc["mediaType"] = "application/vnd.oci.image.config.v1+json"
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        configDesc,
		"layers":        []any{layerDesc},
	})
	manifestDesc, err := blob(manifest)
	if err != nil {
		return err
	}
	manifestDesc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
	manifestDesc["annotations"] = map[string]string{"org.opencontainers.image.ref.name": img.Tag}
	manifestDesc["platform"] = map[string]string{"architecture": "amd64", "os": "linux"}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []any{manifestDesc}})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// tarDir is dir as an uncompressed tar stream, in walk order.
func tarDir(dir string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if _, err := tw.Write(data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ocitest: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
