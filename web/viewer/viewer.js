// The studio's 3-D viewer: a GLB model on a canvas, turned with the mouse (or a finger), lit
// softly from the sky and the ground. Bundled with three.js into static/viewer.js (npm run build).
import {
  AmbientLight, Box3, Color, DirectionalLight, HemisphereLight, PerspectiveCamera, Scene, Vector3,
  WebGLRenderer,
} from "three";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";

/**
 * Show the GLB at `url` in `canvas`. Resolves with {triangles, vertices} once it is drawn;
 * rejects when WebGL is missing or the file cannot be read (the caller keeps its preview image).
 */
export function show(canvas, url, background = "#f4efe6") {
  const renderer = new WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  const scene = new Scene();
  scene.background = new Color(background);
  scene.add(new HemisphereLight(0xffffff, 0x8a7a66, 1.6), new AmbientLight(0xffffff, 0.25));
  const key = new DirectionalLight(0xffffff, 1.8);
  key.position.set(2, 3, 2);
  scene.add(key);
  const camera = new PerspectiveCamera(35, 1, 0.01, 100);
  const controls = new OrbitControls(camera, canvas);
  controls.enableDamping = true;
  controls.autoRotate = true;
  controls.autoRotateSpeed = 1.2;
  controls.addEventListener("start", () => { controls.autoRotate = false; });

  const resize = () => {
    const w = canvas.clientWidth || 480, h = canvas.clientHeight || 480;
    renderer.setSize(w, h, false);
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
  };
  new ResizeObserver(resize).observe(canvas);
  resize();

  return new Promise((resolve, reject) => {
    new GLTFLoader().load(url, (gltf) => {
      const model = gltf.scene;
      scene.add(model);
      const box = new Box3().setFromObject(model);
      const centre = box.getCenter(new Vector3());
      const radius = box.getSize(new Vector3()).length() / 2 || 1;
      controls.target.copy(centre);
      camera.position.copy(centre).add(new Vector3(0.9, 0.5, 1.4).normalize().multiplyScalar(radius * 3.2));
      camera.near = radius / 100;
      camera.far = radius * 100;
      camera.updateProjectionMatrix();
      let triangles = 0, vertices = 0;
      model.traverse((node) => {
        if (!node.isMesh) return;
        const g = node.geometry;
        vertices += g.attributes.position.count;
        triangles += (g.index ? g.index.count : g.attributes.position.count) / 3;
      });
      renderer.setAnimationLoop(() => { controls.update(); renderer.render(scene, camera); });
      resolve({ triangles, vertices });
    }, undefined, (err) => reject(err instanceof Error ? err : new Error(String(err))));
  });
}
